//! Expert flags of the TCP analysis, with tshark's field spelling
//! (`tcp.analysis.<name>`).

/// A set of expert flags on one segment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Expert(pub u32);

macro_rules! expert_flags {
    ($($konst:ident = $bit:expr, $name:literal;)*) => {
        impl Expert {
            $(
                #[doc = concat!("`tcp.analysis.", $name, "`")]
                pub const $konst: u32 = $bit;
            )*
            /// Every flag with its tshark name, in tshark's order of importance.
            pub const ALL: &'static [(u32, &'static str)] = &[$(($bit, $name)),*];
        }
    };
}

expert_flags! {
    RETRANSMISSION = 1 << 0, "retransmission";
    FAST_RETRANSMISSION = 1 << 1, "fast_retransmission";
    SPURIOUS_RETRANSMISSION = 1 << 2, "spurious_retransmission";
    OUT_OF_ORDER = 1 << 3, "out_of_order";
    LOST_SEGMENT = 1 << 4, "lost_segment";
    ACK_LOST_SEGMENT = 1 << 5, "ack_lost_segment";
    DUPLICATE_ACK = 1 << 6, "duplicate_ack";
    ZERO_WINDOW = 1 << 7, "zero_window";
    ZERO_WINDOW_PROBE = 1 << 8, "zero_window_probe";
    ZERO_WINDOW_PROBE_ACK = 1 << 9, "zero_window_probe_ack";
    WINDOW_UPDATE = 1 << 10, "window_update";
    WINDOW_FULL = 1 << 11, "window_full";
    KEEP_ALIVE = 1 << 12, "keep_alive";
    KEEP_ALIVE_ACK = 1 << 13, "keep_alive_ack";
    REUSED_PORTS = 1 << 14, "reused_ports";
}

impl Expert {
    /// True when `flag` is set.
    pub fn has(self, flag: u32) -> bool {
        self.0 & flag != 0
    }

    /// True when no flag is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Names of the flags that are set, as tshark reports them: a fast or
    /// spurious retransmission is also a `retransmission`.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        let shown = if self.is_retransmission() { self.0 | Self::RETRANSMISSION } else { self.0 };
        Expert::ALL.iter().filter(move |(bit, _)| shown & bit != 0).map(|(_, name)| *name)
    }

    /// Any kind of retransmission.
    pub fn is_retransmission(self) -> bool {
        self.has(Self::RETRANSMISSION | Self::FAST_RETRANSMISSION | Self::SPURIOUS_RETRANSMISSION)
    }
}
