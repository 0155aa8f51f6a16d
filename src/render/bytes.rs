//! Short pieces of text appended to a byte buffer with copies of a fixed
//! size. A copy whose length is known only at run time is a call to
//! `memcpy`; a JSON line is some thirty such pieces (a number, an address, a
//! state name), and those calls were half of `--format jsonl`'s writing
//! thread (perf, 907,086 frames). Copying a padded source whole and then
//! cutting the buffer back is two vector moves instead.

/// A text of at most `N` bytes, padded to `N`.
#[derive(Clone, Copy)]
pub struct Padded<const N: usize> {
    bytes: [u8; N],
    len: u8,
}

impl<const N: usize> Padded<N> {
    /// `text` padded; `None` when it is longer than `N` (or 255) bytes.
    pub fn new(text: &[u8]) -> Option<Self> {
        let len = u8::try_from(text.len()).ok().filter(|&l| usize::from(l) <= N)?;
        let mut bytes = [0; N];
        bytes[..text.len()].copy_from_slice(text);
        Some(Padded { bytes, len })
    }

    /// Appends the text.
    #[inline(always)]
    pub fn put(&self, buf: &mut Vec<u8>) {
        put(buf, &self.bytes, usize::from(self.len));
    }
}

/// Appends `bytes[..len]`, copying all of `bytes`.
#[inline(always)]
fn put<const N: usize>(buf: &mut Vec<u8>, bytes: &[u8; N], len: usize) {
    let at = buf.len();
    buf.extend_from_slice(bytes);
    buf.truncate(at + len);
}

/// The 8 decimal digits of `n` (< 10^8, with leading zeros) as ASCII, the
/// first digit in the lowest byte: computed in a register, a lane per digit
/// (the SWAR method of "Faster integer formatting", Lemire 2021). Digits
/// written to memory one at a time and then copied as a block stall the copy
/// (no store forwarding from several small stores to one wide load).
#[inline(always)]
fn digits8(n: u32) -> u64 {
    let n = u64::from(n);
    // Two lanes of 32 bits: the first four digits, the last four.
    let x = (n / 10_000) | ((n % 10_000) << 32);
    // Four lanes of 16 bits: v / 100 (v < 10^4) is (v * 10486) >> 20.
    let hundreds = ((x * 10_486) >> 20) & 0x0000_007f_0000_007f;
    let x = hundreds | ((x - hundreds * 100) << 16);
    // Eight lanes of 8 bits: v / 10 (v < 100) is (v * 103) >> 10.
    let tens = ((x * 103) >> 10) & 0x000f_000f_000f_000f;
    let x = tens | ((x - tens * 10) << 8);
    x | 0x3030_3030_3030_3030
}

/// The last `len` (1..=8) of `n`'s 8 digits (`n` < 10^8): leading zeros kept.
#[inline(always)]
pub fn put_digits(buf: &mut Vec<u8>, n: u32, len: usize) {
    put(buf, &(digits8(n) >> (8 * (8 - len))).to_le_bytes(), len);
}

/// How many decimal digits `n` has.
#[inline(always)]
fn width(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |l| l as usize + 1)
}

/// The decimal digits of `n`, as `Display` writes them.
#[inline]
pub fn uint(buf: &mut Vec<u8>, n: impl Into<u64>) {
    const E8: u64 = 100_000_000;
    let n: u64 = n.into();
    if n < E8 {
        put_digits(buf, n as u32, width(n));
    } else if n < E8 * E8 {
        put_digits(buf, (n / E8) as u32, width(n / E8));
        put_digits(buf, (n % E8) as u32, 8);
    } else {
        let top = n / (E8 * E8);
        put_digits(buf, top as u32, width(top));
        put_digits(buf, (n / E8 % E8) as u32, 8);
        put_digits(buf, (n % E8) as u32, 8);
    }
}

/// The decimal digits of `n` with its sign, as `Display` writes them.
#[inline]
pub fn int(buf: &mut Vec<u8>, n: impl Into<i64>) {
    let n: i64 = n.into();
    if n < 0 {
        buf.push(b'-');
    }
    uint(buf, n.unsigned_abs());
}

/// Each octet's digits in a register's low bytes, and how many.
const OCTETS: [(u32, usize); 256] = {
    let mut t = [(0u32, 0usize); 256];
    let mut n = 0;
    while n < 256 {
        let (h, te, o) = ((n / 100) as u32 + 0x30, (n / 10 % 10) as u32 + 0x30, (n % 10) as u32 + 0x30);
        t[n] = match n {
            0..=9 => (o, 1),
            10..=99 => (te | o << 8, 2),
            _ => (h | te << 8 | o << 16, 3),
        };
        n += 1;
    }
    t
};

/// An IPv4 address's text as `Display` writes it, in a register's bytes
/// (15 at most), and its length.
#[inline]
pub fn ipv4_text(a: std::net::Ipv4Addr) -> ([u8; 16], usize) {
    // Built in a register, for the reason in `digits8`.
    let (mut text, mut at) = (0u128, 0);
    for (i, octet) in a.octets().into_iter().enumerate() {
        let (digits, len) = OCTETS[usize::from(octet)];
        text |= u128::from(digits) << (8 * at);
        at += len;
        if i < 3 {
            text |= u128::from(b'.') << (8 * at);
            at += 1;
        }
    }
    (text.to_le_bytes(), at)
}

/// An IPv4 address as `Display` writes it, between `quote`s when given.
#[inline]
pub fn ipv4(buf: &mut Vec<u8>, a: std::net::Ipv4Addr, quote: Option<u8>) {
    let (text, len) = ipv4_text(a);
    if let Some(q) = quote {
        buf.push(q);
        put(buf, &text, len);
        buf.push(q);
    } else {
        put(buf, &text, len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Integers near every power of ten and the type limits, and a spread of others.
    #[test]
    fn integers_as_display_writes_them() {
        let mut values: Vec<u64> = vec![0, u64::MAX, u64::from(u32::MAX), u64::from(u16::MAX)];
        for p in 0..20 {
            let t = 10u64.pow(p);
            values.extend([t - 1, t, t + 1, t.saturating_mul(5)]);
        }
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.extend([x, x >> 32, x >> 48, x >> 56]);
        }
        let mut buf = b"x".to_vec();
        for v in values {
            buf.truncate(1);
            uint(&mut buf, v);
            assert_eq!(&buf[1..], v.to_string().as_bytes());
            let s = v as i64;
            buf.truncate(1);
            int(&mut buf, s);
            assert_eq!(&buf[1..], s.to_string().as_bytes());
        }
        buf.truncate(1);
        int(&mut buf, i64::MIN);
        assert_eq!(&buf[1..], i64::MIN.to_string().as_bytes());
    }

    /// Every value of the register method's range ends, and a spread between.
    #[test]
    fn eight_digits_in_a_register() {
        for n in (0..100_000u32).chain(99_900_000..100_000_000).chain((0..100_000_000).step_by(9_973)) {
            assert_eq!(digits8(n).to_le_bytes(), *format!("{n:08}").as_bytes(), "{n}");
        }
    }

    #[test]
    fn addresses_as_display_writes_them() {
        let mut buf = Vec::new();
        for n in 0..=255u8 {
            for a in [[n, 0, 9, 10], [99, n, 100, 255], [1, 2, n, n], [n, n, n, n]] {
                let a = std::net::Ipv4Addr::from(a);
                buf.clear();
                ipv4(&mut buf, a, Some(b'"'));
                assert_eq!(String::from_utf8_lossy(&buf), format!("\"{a}\""));
                buf.clear();
                ipv4(&mut buf, a, None);
                assert_eq!(String::from_utf8_lossy(&buf), a.to_string());
            }
        }
    }

    #[test]
    fn padded_texts_are_their_bytes() {
        let mut buf = b"ab".to_vec();
        Padded::<8>::new(b"cdefghij").unwrap().put(&mut buf);
        Padded::<8>::new(b"").unwrap().put(&mut buf);
        Padded::<8>::new(b"k").unwrap().put(&mut buf);
        assert_eq!(buf, b"abcdefghijk");
        assert!(Padded::<8>::new(b"123456789").is_none());
    }
}
