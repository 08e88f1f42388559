//! The base64 alphabet, shared by every decoder in the crate (JWT segments, image headers in
//! data URLs, encoded injection payloads). Standard and URL-safe digits are both accepted:
//! the callers see text from clients that mix the two.

const INVALID: u8 = 0xFF;

/// Digit values by byte: the injection normalizer looks up every byte of every prompt.
static VALUES: [u8; 256] = {
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < 26 {
        table[b'A' as usize + i] = i as u8;
        table[b'a' as usize + i] = i as u8 + 26;
        if i < 10 {
            table[b'0' as usize + i] = i as u8 + 52;
        }
        i += 1;
    }
    table[b'+' as usize] = 62;
    table[b'-' as usize] = 62;
    table[b'/' as usize] = 63;
    table[b'_' as usize] = 63;
    table
};

/// The 6-bit value of a base64 digit, or `None` for anything else (padding included).
#[inline]
pub fn value(b: u8) -> Option<u8> {
    let v = VALUES[usize::from(b)];
    (v != INVALID).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::value;

    #[test]
    fn both_alphabets_map_to_the_same_values() {
        assert_eq!(value(b'A'), Some(0));
        assert_eq!(value(b'z'), Some(51));
        assert_eq!(value(b'9'), Some(61));
        assert_eq!(value(b'+'), value(b'-'));
        assert_eq!(value(b'/'), value(b'_'));
        assert_eq!(value(b'='), None);
        assert_eq!(value(b' '), None);
        let digits = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for b in 0..=255u8 {
            let expected = digits.iter().position(|&d| d == b).map(|p| p as u8);
            let expected = expected.or(match b {
                b'-' => Some(62),
                b'_' => Some(63),
                _ => None,
            });
            assert_eq!(value(b), expected, "byte {b}");
        }
    }
}
