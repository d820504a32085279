//! JSON numbers: integers (itoa), floats (a short-decimal path before
//! ryu; NaN and the infinities as strings).

use crate::record::Out;

/// Writes a float: finite values as the shortest JSON number that reads
/// back to the same value; NaN and the infinities as the strings `"NaN"`,
/// `"Infinity"` and `"-Infinity"`.
#[inline]
pub(crate) fn write_f64<O: Out + ?Sized>(out: &mut O, v: f64) {
    write_keyed_f64(out, b"", v)
}

/// Writes `key` (a pre-framed `,"key":`, or nothing) and a float as
/// [`write_f64`] does: a short decimal in one piece of the output's room
/// with its key, other values after it.
#[inline]
pub(crate) fn write_keyed_f64<O: Out + ?Sized>(out: &mut O, key: &[u8], v: f64) {
    let mut buf = [0; SHORT_DECIMAL_MAX];
    if let Some(at) = short_decimal(v, &mut buf) {
        out.extend2(key, &buf[at..]);
        return;
    }
    out.extend(key);
    if v.is_finite() {
        out.extend(ryu::Buffer::new().format_finite(v).as_bytes());
    } else {
        out.extend(non_finite(v.is_nan(), v.is_sign_negative()));
    }
}

/// The room a short decimal takes at most: 16 digits (below 2^53), a
/// sign, a point and a trailing `.0`'s zero.
const SHORT_DECIMAL_MAX: usize = 24;

/// A fast path for the floats logs are full of (`3.25`, `0.5`, `12.125`):
/// when `v` is exactly `n / 10^k` as a double, for an integer `n` below
/// 2^53 and `k ≤ 6`, the text of `n` with `k` decimals (`1.0` for
/// integers, as ryu writes them), written at the end of `buf`; returns
/// where it starts. The text reads back to exactly `v`: `n` and `10^k` are
/// exact doubles, so `n / 10^k` computed in floating point is the correctly
/// rounded value of the decimal, which is what a JSON parser computes.
/// `None` (nothing written) for other values, which go to ryu.
#[inline]
fn short_decimal(v: f64, buf: &mut [u8; SHORT_DECIMAL_MAX]) -> Option<usize> {
    const SCALE: [f64; 7] = [1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6];
    let a = v.abs();
    // Outside [1e-4, 1e9) (and for NaN and the infinities) ryu writes
    // exponents or many digits: leave it to ryu, so that both paths always
    // write the same text.
    if !(1e-4..1e9).contains(&a) {
        return None;
    }
    // Below 1e9 times at most 1e6, every `x` is below 1e15 < 2^53, where
    // the conversion to an integer is exact when `x` is integral.
    let (mut m, mut k) = SCALE.iter().enumerate().find_map(|(k, &scale)| {
        let x = a * scale;
        let n = x as i64;
        (n as f64 == x && x / scale == a).then_some((n as u64, k))
    })?;
    // The same value with fewer decimals when it ends in zeros.
    while k > 0 && m.is_multiple_of(10) {
        m /= 10;
        k -= 1;
    }
    // Written backwards from the end: the `k` decimals (or `.0` for an
    // integer), the point, the integer part, the sign.
    let mut at = buf.len();
    let int = if k == 0 {
        at -= 2;
        buf[at..].copy_from_slice(b".0");
        m
    } else {
        // Constant divisors, so that each is a multiplication.
        let (int, mut frac) = match k {
            1 => (m / 10, m % 10),
            2 => (m / 100, m % 100),
            3 => (m / 1_000, m % 1_000),
            4 => (m / 10_000, m % 10_000),
            5 => (m / 100_000, m % 100_000),
            _ => (m / 1_000_000, m % 1_000_000),
        };
        let mut left = k;
        while left >= 2 {
            at = put_two(buf, at, frac % 100);
            frac /= 100;
            left -= 2;
        }
        if left == 1 {
            at -= 1;
            buf[at] = b'0' + frac as u8;
        }
        at -= 1;
        buf[at] = b'.';
        int
    };
    at = put_int(buf, at, int);
    if v < 0.0 {
        at -= 1;
        buf[at] = b'-';
    }
    Some(at)
}

/// Two decimal digits of `d` (below 100) before `at`; returns where they
/// start.
#[inline(always)]
fn put_two(buf: &mut [u8], at: usize, d: u64) -> usize {
    const DIGITS: &[u8; 200] = b"0001020304050607080910111213141516171819\
        2021222324252627282930313233343536373839\
        4041424344454647484950515253545556575859\
        6061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899";
    let d = d as usize * 2;
    buf[at - 2..at].copy_from_slice(&DIGITS[d..d + 2]);
    at - 2
}

/// The digits of `n` before `at` (`0` for zero); returns where they
/// start.
#[inline(always)]
fn put_int(buf: &mut [u8], mut at: usize, mut n: u64) -> usize {
    while n >= 100 {
        at = put_two(buf, at, n % 100);
        n /= 100;
    }
    if n >= 10 {
        put_two(buf, at, n)
    } else {
        at -= 1;
        buf[at] = b'0' + n as u8;
        at
    }
}

/// Like [`write_f64`] for an `f32`, printed with `f32` precision.
#[inline]
pub(crate) fn write_f32<O: Out + ?Sized>(out: &mut O, v: f32) {
    if v.is_finite() {
        out.extend(ryu::Buffer::new().format_finite(v).as_bytes());
    } else {
        out.extend(non_finite(v.is_nan(), v.is_sign_negative()));
    }
}

fn non_finite(nan: bool, negative: bool) -> &'static [u8] {
    if nan {
        b"\"NaN\""
    } else if negative {
        b"\"-Infinity\""
    } else {
        b"\"Infinity\""
    }
}

#[inline]
pub(crate) fn write_int<O: Out + ?Sized, I: itoa::Integer>(out: &mut O, v: I) {
    out.extend(itoa::Buffer::new().format(v).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `x` as `write_f64` writes it.
    fn f(x: f64) -> String {
        let mut v = Vec::new();
        write_f64(&mut v, x);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn floats_are_valid_json() {
        assert_eq!(f(3.25), "3.25");
        assert_eq!(f(f64::NAN), "\"NaN\"");
        assert_eq!(f(f64::INFINITY), "\"Infinity\"");
        assert_eq!(f(f64::NEG_INFINITY), "\"-Infinity\"");
        for x in [0.0, -0.0, 1e300, -1e-300, f64::MIN_POSITIVE, f64::MAX, 0.1 + 0.2] {
            let back: f64 = serde_json::from_str(&f(x)).unwrap();
            assert_eq!(back.to_bits(), x.to_bits(), "{x}");
        }
    }

    #[test]
    fn a_keyed_float_is_its_key_then_the_float() {
        for x in [3.25, -0.025, 7.0, 1e300, f64::NAN, f64::NEG_INFINITY, 0.1 + 0.2] {
            let mut v = Vec::new();
            write_keyed_f64(&mut v, b",\"k\":", x);
            assert_eq!(String::from_utf8(v).unwrap(), format!(",\"k\":{}", f(x)));
        }
    }

    #[test]
    fn short_decimals_match_ryu_and_round_trip() {
        for x in [
            3.25,
            0.5,
            -0.5,
            1.0,
            -7.0,
            0.1,
            0.3,
            12.125,
            0.001,
            -0.000001,
            0.0025,
            -0.025,
            123456.789,
            1e8,
            999999999.5,
            0.1 + 0.2,
        ] {
            let ours = f(x);
            assert_eq!(ours, ryu::Buffer::new().format_finite(x), "{x}");
            assert_eq!(ours.parse::<f64>().unwrap().to_bits(), x.to_bits());
        }
        // A deterministic sweep of values with few decimals and of random bits.
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        for i in 0..200_000u64 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let x = if i % 2 == 0 {
                (seed % 10_000_000) as f64 / [1.0, 10.0, 100.0, 1e3, 1e4][i as usize % 5]
            } else {
                f64::from_bits(seed)
            };
            if !x.is_finite() {
                continue;
            }
            let ours = f(x);
            assert_eq!(ours.parse::<f64>().unwrap().to_bits(), x.to_bits(), "{x:e} → {ours}");
            assert_eq!(ours, ryu::Buffer::new().format_finite(x), "{x:e}");
        }
    }
}
