//! Link-layer headers: find where the network layer starts and what it is.
//!
//! etherparse handles Ethernet and 802.1Q itself; the BSD loopback and Linux
//! cooked headers are parsed here (etherparse rejects SLL with ARPHRD 772 and
//! has no SLL2, see NOTES.md).

use crate::source::LinkType;

/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;

/// Length of a Linux cooked v1 header.
const SLL_LEN: usize = 16;
/// Offset of the protocol field in a Linux cooked v1 header.
const SLL_PROTOCOL: usize = 14;
/// Length of a Linux cooked v2 header (protocol at bytes 0–1).
const SLL2_LEN: usize = 20;
/// Length of the BSD NULL/LOOP address-family header.
const NULL_LEN: usize = 4;

/// Where the link layer says the rest of the frame goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkPayload {
    /// An Ethernet frame (etherparse takes it from here, VLAN tags included).
    Ethernet,
    /// Bytes starting at `offset` carry this EtherType.
    EtherType {
        /// Offset of the payload in the frame.
        offset: usize,
        /// The EtherType (0x0800, 0x86dd, 0x8100 …).
        ether_type: u16,
    },
    /// Raw IP starting at `offset` (version from the first nibble).
    RawIp {
        /// Offset of the IP header in the frame.
        offset: usize,
    },
    /// The frame is shorter than its link header.
    Truncated,
    /// The link layer carries something other than IP (ARP, LLC, an unknown AF …).
    NotIp,
    /// wirelab does not decode this link type.
    Unsupported,
}

/// Maps a BSD address family (as found in NULL/LOOP headers) to an EtherType.
/// AF_INET6 differs between systems: 10 Linux, 24 NetBSD/OpenBSD, 28 FreeBSD, 30 Darwin.
fn address_family_ether_type(af: u32) -> Option<u16> {
    match af {
        2 => Some(ETHERTYPE_IPV4),
        10 | 24 | 28 | 30 => Some(ETHERTYPE_IPV6),
        _ => None,
    }
}

/// Classifies the link-layer header of `data`.
pub fn classify(link: LinkType, data: &[u8]) -> LinkPayload {
    match link {
        LinkType::ETHERNET => LinkPayload::Ethernet,
        LinkType::NULL | LinkType::LOOP => {
            let Some(bytes) = data.get(..NULL_LEN) else {
                return LinkPayload::Truncated;
            };
            let bytes: [u8; 4] = bytes.try_into().expect("4 bytes");
            // NULL is in the capturing host's byte order; LOOP in network order.
            // Like Wireshark, take whichever reading gives a small number.
            let af = if link == LinkType::LOOP {
                u32::from_be_bytes(bytes)
            } else {
                let le = u32::from_le_bytes(bytes);
                if le & 0xffff_0000 != 0 {
                    u32::from_be_bytes(bytes)
                } else {
                    le
                }
            };
            match address_family_ether_type(af) {
                Some(ether_type) => LinkPayload::EtherType { offset: NULL_LEN, ether_type },
                None => LinkPayload::NotIp,
            }
        }
        LinkType::RAW | LinkType::RAW_BSD | LinkType::IPV4 | LinkType::IPV6 => LinkPayload::RawIp { offset: 0 },
        LinkType::LINUX_SLL => match data.get(SLL_PROTOCOL..SLL_LEN) {
            Some(p) => LinkPayload::EtherType { offset: SLL_LEN, ether_type: u16::from_be_bytes([p[0], p[1]]) },
            None => LinkPayload::Truncated,
        },
        LinkType::LINUX_SLL2 => {
            if data.len() < SLL2_LEN {
                return LinkPayload::Truncated;
            }
            LinkPayload::EtherType { offset: SLL2_LEN, ether_type: u16::from_be_bytes([data[0], data[1]]) }
        }
        _ => LinkPayload::Unsupported,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_header_in_either_byte_order() {
        // macOS lo0: AF_INET6 = 30, little-endian host.
        assert_eq!(
            classify(LinkType::NULL, &[30, 0, 0, 0, 0x60]),
            LinkPayload::EtherType { offset: 4, ether_type: ETHERTYPE_IPV6 }
        );
        // Big-endian host writing AF_INET = 2.
        assert_eq!(
            classify(LinkType::NULL, &[0, 0, 0, 2, 0x45]),
            LinkPayload::EtherType { offset: 4, ether_type: ETHERTYPE_IPV4 }
        );
        assert_eq!(classify(LinkType::NULL, &[2, 0]), LinkPayload::Truncated);
        assert_eq!(classify(LinkType::NULL, &[7, 0, 0, 0]), LinkPayload::NotIp);
    }

    #[test]
    fn linux_cooked_headers() {
        // SLL v1 from `tcpdump -i any` on loopback: ARPHRD 772, protocol 0x0800.
        let sll = [0, 0, 3, 4, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0x45];
        assert_eq!(
            classify(LinkType::LINUX_SLL, &sll),
            LinkPayload::EtherType { offset: 16, ether_type: ETHERTYPE_IPV4 }
        );
        // SLL v2: protocol first.
        let mut sll2 = [0u8; 21];
        sll2[0] = 0x86;
        sll2[1] = 0xdd;
        assert_eq!(
            classify(LinkType::LINUX_SLL2, &sll2),
            LinkPayload::EtherType { offset: 20, ether_type: ETHERTYPE_IPV6 }
        );
        assert_eq!(classify(LinkType::LINUX_SLL2, &sll2[..19]), LinkPayload::Truncated);
        assert_eq!(classify(LinkType::PPP, &sll2), LinkPayload::Unsupported);
    }
}
