//! TCP sequence numbers with wrap-around comparison (RFC 9293 §3.4:
//! "the space ranges from 0 to 2**32 - 1 … all arithmetic dealing with
//! sequence numbers must be performed modulo 2**32").

/// `a` is after `b` in sequence space.
pub fn gt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

/// `a` is before `b` in sequence space.
pub fn lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// `a` is at or before `b` in sequence space.
pub fn le(a: u32, b: u32) -> bool {
    !gt(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_around() {
        assert!(gt(5, 0xffff_fff0));
        assert!(lt(0xffff_fff0, 5));
        assert!(le(7, 7));
        assert!(!gt(0, 0x7fff_ffff));
    }
}
