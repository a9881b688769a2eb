//! DNS messages as resolvers exchange them: an A or AAAA query for one
//! name, and the addresses (or the failure) an answer carries. The codec
//! is the `simple-dns` crate's; this only says which parts matter.

use crate::config::haproxy::Family;
use simple_dns::rdata::RData;
use simple_dns::{Name, Packet, PacketFlag, Question, CLASS, QTYPE, RCODE, TYPE};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What an answer says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The query it answers.
    pub id: u16,
    /// How it went.
    pub status: Status,
}

/// How a query went, in haproxy's categories (each has its `hold`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Addresses of the family asked for (empty: none of it).
    Valid(Vec<IpAddr>),
    /// The name does not exist.
    Nx,
    /// The server refused.
    Refused,
    /// Any other failure.
    Other,
    /// No answer came in time.
    Timeout,
}

/// A query for `name`'s addresses of `family`, numbered `id`.
pub fn query(id: u16, name: &str, family: Family) -> Option<Vec<u8>> {
    let mut packet = Packet::new_query(id);
    packet.set_flags(PacketFlag::RECURSION_DESIRED);
    let qtype = match family {
        Family::Ipv4 => TYPE::A,
        Family::Ipv6 => TYPE::AAAA,
    };
    let name = Name::new(name).ok()?;
    packet.questions.push(Question::new(
        name,
        QTYPE::TYPE(qtype),
        CLASS::IN.into(),
        false,
    ));
    packet.build_bytes_vec().ok()
}

/// Reads an answer; `None` for bytes that are not one.
pub fn reply(bytes: &[u8], family: Family) -> Option<Reply> {
    let packet = Packet::parse(bytes).ok()?;
    if !packet.has_flags(PacketFlag::RESPONSE) {
        return None;
    }
    let status = match packet.rcode() {
        RCODE::NoError => Status::Valid(
            packet
                .answers
                .iter()
                .filter_map(|rr| match (&rr.rdata, family) {
                    (RData::A(a), Family::Ipv4) => Some(IpAddr::V4(Ipv4Addr::from(a.address))),
                    (RData::AAAA(a), Family::Ipv6) => Some(IpAddr::V6(Ipv6Addr::from(a.address))),
                    _ => None,
                })
                .collect(),
        ),
        RCODE::NameError => Status::Nx,
        RCODE::Refused => Status::Refused,
        _ => Status::Other,
    };
    Some(Reply {
        id: packet.id(),
        status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use simple_dns::rdata::A;
    use simple_dns::ResourceRecord;

    #[test]
    fn a_query_and_its_answer() {
        let q = query(7, "app1.example", Family::Ipv4).expect("a query");
        let asked = Packet::parse(&q).expect("parses");
        assert_eq!(asked.id(), 7);
        assert_eq!(asked.questions[0].qname.to_string(), "app1.example");
        let mut answer = asked.into_reply();
        answer.answers.push(ResourceRecord::new(
            Name::new_unchecked("app1.example"),
            CLASS::IN,
            5,
            RData::A(A {
                address: u32::from(Ipv4Addr::new(10, 0, 0, 9)),
            }),
        ));
        let bytes = answer.build_bytes_vec().expect("built");
        assert_eq!(
            reply(&bytes, Family::Ipv4),
            Some(Reply {
                id: 7,
                status: Status::Valid(vec!["10.0.0.9".parse().expect("ip")])
            })
        );
        // An AAAA query sees no IPv4 address.
        assert_eq!(
            reply(&bytes, Family::Ipv6).map(|r| r.status),
            Some(Status::Valid(Vec::new()))
        );
        let mut nx = Packet::parse(&q).expect("parses").into_reply();
        *nx.rcode_mut() = RCODE::NameError;
        let bytes = nx.build_bytes_vec().expect("built");
        assert_eq!(
            reply(&bytes, Family::Ipv4).map(|r| r.status),
            Some(Status::Nx)
        );
        assert_eq!(reply(&q, Family::Ipv4), None, "a query is not an answer");
        assert_eq!(reply(b"junk", Family::Ipv4), None);
    }
}
