//! Least privilege: once every socket is bound, the process becomes
//! haproxy.cfg's `user` / `group` (global section), as haproxy does. When
//! VRRP runs in the same process it keeps exactly the capabilities it
//! needs afterwards: CAP_NET_RAW (gratuitous ARP sockets), CAP_NET_ADMIN
//! (VIPs through netlink) and CAP_NET_BIND_SERVICE (reloads binding ports
//! below 1024); a proxy alone keeps only the last, and CAP_NET_ADMIN when
//! a `source ... usesrc` binds foreign addresses.

use anyhow::{Context, Result};
use caps::{CapSet, Capability, CapsHashSet};
use nix::unistd::{Gid, Group, Uid, User};

/// Becomes `user` / `group` (names or numbers), keeping the capabilities
/// the VRRP side needs when `vrrp` runs here, and those transparent
/// server connections need when `transparent`. Nothing to do without
/// either, or when already that user; a process not started as root says
/// so and stays what it is.
pub(crate) fn drop_to(
    user: Option<&str>,
    group: Option<&str>,
    vrrp: bool,
    transparent: bool,
) -> Result<()> {
    if user.is_none() && group.is_none() {
        return Ok(());
    }
    let uid = user.map(resolve_user).transpose()?;
    let gid = match group {
        Some(g) => Some(resolve_group(g)?),
        None => uid
            .and_then(|u| User::from_uid(u).ok().flatten())
            .map(|u| u.gid),
    };
    if uid.is_none_or(|u| u == Uid::current()) && gid.is_none_or(|g| g == Gid::current()) {
        return Ok(());
    }
    if !Uid::effective().is_root() {
        // An unprivileged start (as deploy/haven.service does it) already
        // is what `user` asks for.
        haven_runtime::eprintln_whole!(
            "[WARNING]  ({}) : not started as root: staying uid {}, ignoring 'user' / 'group'.",
            std::process::id(),
            Uid::current()
        );
        return Ok(());
    }
    let mut keep = CapsHashSet::from([Capability::CAP_NET_BIND_SERVICE]);
    if vrrp {
        keep.extend([Capability::CAP_NET_RAW, Capability::CAP_NET_ADMIN]);
    }
    if transparent {
        keep.insert(Capability::CAP_NET_ADMIN);
    }
    if let Some(gid) = gid {
        nix::unistd::setgroups(&[gid]).context("setgroups")?;
        nix::unistd::setgid(gid).context("setgid")?;
    }
    if let Some(uid) = uid {
        nix::sys::prctl::set_keepcaps(true).context("keeping capabilities")?;
        nix::unistd::setuid(uid).context("setuid")?;
        nix::sys::prctl::set_keepcaps(false).context("keeping capabilities")?;
    }
    caps::set(None, CapSet::Effective, &keep).context("setting capabilities")?;
    caps::set(None, CapSet::Permitted, &keep).context("setting capabilities")?;
    Ok(())
}

fn resolve_user(name: &str) -> Result<Uid> {
    if let Ok(n) = name.parse::<u32>() {
        return Ok(Uid::from_raw(n));
    }
    User::from_name(name)
        .ok()
        .flatten()
        .map(|u| u.uid)
        .with_context(|| format!("cannot find user id for '{name}'"))
}

fn resolve_group(name: &str) -> Result<Gid> {
    if let Ok(n) = name.parse::<u32>() {
        return Ok(Gid::from_raw(n));
    }
    Group::from_name(name)
        .ok()
        .flatten()
        .map(|g| g.gid)
        .with_context(|| format!("cannot find group id for '{name}'"))
}
