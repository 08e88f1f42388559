//! The base64 alphabet, shared by every decoder in the crate (JWT segments, image headers in
//! data URLs, encoded injection payloads). Standard and URL-safe digits are both accepted:
//! the callers see text from clients that mix the two.

/// The 6-bit value of a base64 digit, or `None` for anything else (padding included).
#[inline]
pub fn value(b: u8) -> Option<u8> {
    Some(match b {
        b'A'..=b'Z' => b - b'A',
        b'a'..=b'z' => b - b'a' + 26,
        b'0'..=b'9' => b - b'0' + 52,
        b'+' | b'-' => 62,
        b'/' | b'_' => 63,
        _ => return None,
    })
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
    }
}
