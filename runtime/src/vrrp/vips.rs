//! Adding and removing virtual addresses through netlink, as `ip address
//! add / del` would, labels included. An address already there (add) or
//! already gone (remove) is not an error, as for keepalived.

use haven_core::config::keepalived::Vip;
use rtnetlink::packet_route::address::AddressAttribute;
use rtnetlink::{AddressMessageBuilder, Handle};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// errno values netlink answers for "already there" and "not there".
const EEXIST: i32 = 17;
const EADDRNOTAVAIL: i32 = 99;
const ENOENT: i32 = 2;

/// Adds (`add`) or removes `vip` on the interface with index `index`.
pub(crate) async fn change(handle: Handle, vip: Vip, index: u32, add: bool) -> Result<(), String> {
    let mut message = match vip.addr {
        IpAddr::V4(a) => AddressMessageBuilder::<Ipv4Addr>::new()
            .index(index)
            .address(a, vip.prefix)
            .build(),
        IpAddr::V6(a) => AddressMessageBuilder::<Ipv6Addr>::new()
            .index(index)
            .address(a, vip.prefix)
            .build(),
    };
    if let Some(label) = &vip.label {
        message
            .attributes
            .push(AddressAttribute::Label(label.clone()));
    }
    let result = if add {
        let mut request = handle.address().add(index, vip.addr, vip.prefix);
        *request.message_mut() = message;
        request.execute().await
    } else {
        handle.address().del(message).execute().await
    };
    match result {
        Ok(()) => Ok(()),
        Err(rtnetlink::Error::NetlinkError(e)) => {
            let errno = e.raw_code().abs();
            let harmless = if add {
                errno == EEXIST
            } else {
                errno == EADDRNOTAVAIL || errno == ENOENT
            };
            if harmless {
                Ok(())
            } else {
                Err(e.to_string())
            }
        }
        Err(e) => Err(e.to_string()),
    }
}
