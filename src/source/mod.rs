//! Packet sources: capture files, live loopback capture, the lab wire, and the pcap writer.

pub mod file;
pub mod live;
pub mod wire;
pub mod writer;

/// A capture timestamp: seconds since the Unix epoch plus nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    /// Whole seconds since 1970-01-01 UTC.
    pub secs: i64,
    /// Nanoseconds within the second (0..1e9).
    pub nanos: u32,
}

impl Timestamp {
    /// Builds a timestamp from seconds and a fraction counted in `units_per_sec`.
    pub fn from_fraction(secs: i64, frac: u64, units_per_sec: u64) -> Self {
        let nanos = if units_per_sec == 1_000_000_000 {
            frac
        } else {
            (frac as u128 * 1_000_000_000 / units_per_sec.max(1) as u128) as u64
        };
        Timestamp { secs: secs + (nanos / 1_000_000_000) as i64, nanos: (nanos % 1_000_000_000) as u32 }
    }

    /// Seconds since the epoch as a float (what tshark calls `frame.time_epoch`).
    pub fn as_f64(self) -> f64 {
        self.secs as f64 + self.nanos as f64 / 1e9
    }

    /// Nanoseconds since the epoch.
    pub fn as_nanos(self) -> i128 {
        self.secs as i128 * 1_000_000_000 + self.nanos as i128
    }

    /// `self - earlier` in nanoseconds (negative when `earlier` is later).
    pub fn nanos_since(self, earlier: Timestamp) -> i128 {
        self.as_nanos() - earlier.as_nanos()
    }
}

/// Link-layer header type of a frame (the pcap `LINKTYPE_*` number).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LinkType(pub u32);

impl LinkType {
    /// The link type of a classic pcap header's `network` field: the upper
    /// bits carry the FCS length and flags (pcap file format, "LinkType and
    /// additional information"); the type itself is the low 26 bits, as
    /// libpcap and Wireshark read it.
    pub fn from_pcap_header(network: u32) -> LinkType {
        LinkType(network & 0x03ff_ffff)
    }

    /// BSD loopback: 4-byte address family in the capturing host's byte order.
    pub const NULL: LinkType = LinkType(0);
    /// Ethernet (and Linux loopback, which uses a zeroed Ethernet header).
    pub const ETHERNET: LinkType = LinkType(1);
    /// PPP.
    pub const PPP: LinkType = LinkType(9);
    /// Raw IP as DLT 12 on some BSDs.
    pub const RAW_BSD: LinkType = LinkType(12);
    /// Raw IP (version from the first nibble).
    pub const RAW: LinkType = LinkType(101);
    /// OpenBSD loopback: 4-byte address family in network byte order.
    pub const LOOP: LinkType = LinkType(108);
    /// Linux cooked capture v1 (16-byte header).
    pub const LINUX_SLL: LinkType = LinkType(113);
    /// Raw IPv4.
    pub const IPV4: LinkType = LinkType(228);
    /// Raw IPv6.
    pub const IPV6: LinkType = LinkType(229);
    /// Linux cooked capture v2 (20-byte header), tcpdump's default for `-i any`.
    pub const LINUX_SLL2: LinkType = LinkType(276);

    /// The libpcap name of this link type, for messages.
    pub fn name(self) -> &'static str {
        match self.0 {
            0 => "NULL",
            1 => "EN10MB",
            9 => "PPP",
            12 | 101 => "RAW",
            105 => "IEEE802_11",
            108 => "LOOP",
            113 => "LINUX_SLL",
            127 => "IEEE802_11_RADIOTAP",
            228 => "IPV4",
            229 => "IPV6",
            276 => "LINUX_SLL2",
            _ => "unknown",
        }
    }
}

/// One captured frame, borrowed from the source's buffer.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    /// 1-based frame number in the capture.
    pub number: u64,
    /// When the frame was captured.
    pub ts: Timestamp,
    /// Link-layer type of `data`.
    pub link: LinkType,
    /// The captured bytes (possibly cut by a snaplen).
    pub data: &'a [u8],
    /// Length of the frame on the wire.
    pub orig_len: u32,
    /// A pcapng packet comment (wirelab writes each packet's step and call there).
    pub comment: Option<&'a str>,
}
