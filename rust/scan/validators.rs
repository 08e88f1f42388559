//! Checksums and structural rules that turn "looks like a number" into "is one". Every
//! detector that can be validated is, because regex shape alone cannot tell a card number from
//! an order id.

use std::net::Ipv6Addr;

/// Luhn (mod 10) over ASCII digits; any other byte fails.
pub fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, &d) in digits.iter().rev().enumerate() {
        if !d.is_ascii_digit() {
            return false;
        }
        let mut v = u32::from(d - b'0');
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    !digits.is_empty() && sum % 10 == 0
}

/// Issuer prefixes and lengths of the card networks we recognise. A Luhn-valid number outside
/// every range is more likely an id than a card.
pub fn card_iin_ok(digits: &[u8]) -> bool {
    let n = digits.len();
    let prefix = |k: usize| -> u32 {
        digits[..k.min(n)]
            .iter()
            .fold(0, |acc, d| acc * 10 + u32::from(d - b'0'))
    };
    let p1 = prefix(1);
    let p2 = prefix(2);
    let p3 = prefix(3);
    let p4 = prefix(4);
    let p6 = prefix(6);
    match p1 {
        // Visa
        4 => matches!(n, 13 | 16 | 19),
        // Mastercard (51-55, 2221-2720), Mir (2200-2204), Maestro (50, 56-58)
        5 => {
            ((51..=55).contains(&p2) && n == 16)
                || (p2 == 50 || (56..=58).contains(&p2)) && (13..=19).contains(&n)
        }
        2 => {
            ((2221..=2720).contains(&p4) && n == 16)
                || ((2200..=2204).contains(&p4) && (16..=19).contains(&n))
                || (p4 == 2131 && n == 15)
        }
        // Amex 34/37, Diners 300-305/3095/36/38/39, JCB (assigned 3528-3589; the whole 35 block
        // is accepted because generators and older issuer lists use it)
        3 => {
            ((p2 == 34 || p2 == 37) && n == 15)
                || (((300..=305).contains(&p3) || p4 == 3095 || p2 == 36 || p2 == 38 || p2 == 39)
                    && (14..=19).contains(&n))
                || (p2 == 35 && (16..=19).contains(&n))
        }
        // Discover 6011/644-649/65/622126-622925, UnionPay 62, Maestro 6304/6759/676x
        6 => {
            (p4 == 6011
                || (644..=649).contains(&p3)
                || p2 == 65
                || (622_126..=622_925).contains(&p6)
                || p2 == 62
                || p4 == 6304
                || p4 == 6759
                || (6761..=6763).contains(&p4))
                && (13..=19).contains(&n)
        }
        // JCB legacy 1800
        1 => p4 == 1800 && n == 15,
        _ => false,
    }
}

/// IBAN length per country (ISO 13616 registry).
pub fn iban_length(country: &[u8]) -> Option<usize> {
    let len = match country {
        b"NO" => 15,
        b"BE" => 16,
        b"DK" | b"FI" | b"FK" | b"FO" | b"GL" | b"NL" | b"SD" => 18,
        b"MK" | b"SI" => 19,
        b"AT" | b"BA" | b"EE" | b"KZ" | b"LT" | b"LU" | b"MN" | b"XK" => 20,
        b"CH" | b"HR" | b"LI" | b"LV" => 21,
        b"BG" | b"BH" | b"CR" | b"DE" | b"GB" | b"GE" | b"IE" | b"ME" | b"RS" | b"VA" => 22,
        b"AE" | b"GI" | b"IL" | b"IQ" | b"OM" | b"SO" | b"TL" => 23,
        b"AD" | b"CZ" | b"ES" | b"MD" | b"PK" | b"RO" | b"SA" | b"SE" | b"SK" | b"TN" | b"VG" => 24,
        b"LY" | b"PT" | b"ST" => 25,
        b"IS" | b"TR" => 26,
        b"BI" | b"DJ" | b"FR" | b"GR" | b"IT" | b"MC" | b"MR" | b"SM" => 27,
        b"AL" | b"AZ" | b"BY" | b"CY" | b"DO" | b"GT" | b"HU" | b"LB" | b"NI" | b"PL" | b"SV" => 28,
        b"BR" | b"EG" | b"PS" | b"QA" | b"UA" => 29,
        b"JO" | b"KW" | b"MU" | b"YE" => 30,
        b"MT" | b"SC" => 31,
        b"LC" => 32,
        b"RU" => 33,
        _ => return None,
    };
    Some(len)
}

/// ISO 7064 mod 97-10 over the compact IBAN (uppercase letters and digits, no spaces), plus the
/// per-country length.
pub fn iban_ok(iban: &[u8]) -> bool {
    if iban.len() < 15 || iban_length(&iban[..2]) != Some(iban.len()) {
        return false;
    }
    if !iban[2..4].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let mut rem = 0u32;
    for &c in iban[4..].iter().chain(&iban[..4]) {
        match c {
            b'0'..=b'9' => rem = (rem * 10 + u32::from(c - b'0')) % 97,
            b'A'..=b'Z' => rem = (rem * 100 + u32::from(c - b'A' + 10)) % 97,
            _ => return false,
        }
    }
    rem == 1
}

/// US SSN rules: the SSA never issues area 000, 666 or 900-999, group 00 or serial 0000, and a
/// few numbers are famous fakes (the Woolworth wallet card, the Social Security card ad, and
/// the textbook example).
pub fn ssn_ok(area: u16, group: u16, serial: u16) -> bool {
    if area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0 {
        return false;
    }
    !matches!(
        (area, group, serial),
        (78, 5, 1120) | (219, 9, 9999) | (123, 45, 6789)
    )
}

/// Dotted-quad with octets 0-255 and no leading zeros (a leading zero is far more often a date
/// or a version than an address). Returns the bytes consumed.
pub fn ipv4_at(b: &[u8], start: usize) -> Option<usize> {
    let mut i = start;
    for part in 0..4 {
        if part > 0 {
            if b.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
        let s = i;
        let mut v = 0u32;
        while i < b.len() && b[i].is_ascii_digit() && i - s < 4 {
            v = v * 10 + u32::from(b[i] - b'0');
            i += 1;
        }
        let len = i - s;
        if len == 0 || len > 3 || v > 255 || (len > 1 && b[s] == b'0') {
            return None;
        }
    }
    Some(i - start)
}

/// Any textual IPv6 form the standard library accepts: full, `::`-compressed, IPv4-embedded.
pub fn ipv6_ok(s: &[u8]) -> bool {
    std::str::from_utf8(s).is_ok_and(|s| s.parse::<Ipv6Addr>().is_ok())
}

/// Shannon entropy in bits per byte.
pub fn shannon_entropy(s: &[u8]) -> f64 {
    if s.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &c in s {
        counts[c as usize] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// Unpadded base64url (padding tolerated) to bytes; `None` on any invalid character.
pub fn base64url_decode(s: &[u8]) -> Option<Vec<u8>> {
    let s = s
        .strip_suffix(b"==")
        .or_else(|| s.strip_suffix(b"="))
        .unwrap_or(s);
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for &c in s {
        acc = (acc << 6) | u32::from(crate::b64::value(c)?);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

/// A JWT header is a JSON object naming its algorithm; checking that rules out random
/// dot-separated base64 that merely starts with `eyJ`.
pub fn jwt_header_ok(segment: &[u8]) -> bool {
    let Some(raw) = base64url_decode(segment) else {
        return false;
    };
    let Ok(text) = std::str::from_utf8(&raw) else {
        return false;
    };
    let t = text.trim();
    t.starts_with('{') && t.ends_with('}') && t.contains("\"alg\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_known_values() {
        assert!(luhn(b"4111111111111111"));
        assert!(luhn(b"378282246310005"));
        assert!(luhn(b"6011111111111117"));
        assert!(!luhn(b"4111111111111112"));
        assert!(!luhn(b""));
        assert!(!luhn(b"41111111111a1111"));
    }

    #[test]
    fn iin_table() {
        assert!(card_iin_ok(b"4111111111111111"));
        assert!(card_iin_ok(b"378282246310005"));
        assert!(card_iin_ok(b"5555555555554444"));
        assert!(card_iin_ok(b"2223003122003222"));
        assert!(card_iin_ok(b"30569309025904"));
        assert!(card_iin_ok(b"3530111333300000"));
        assert!(!card_iin_ok(b"9111111111111111"));
        assert!(!card_iin_ok(b"411111111111111"), "Visa is never 15 digits");
        assert!(!card_iin_ok(b"3782822463100051"), "Amex is 15 digits");
    }

    #[test]
    fn iban_mod97_and_length() {
        assert!(iban_ok(b"DE89370400440532013000"));
        assert!(iban_ok(b"GB82WEST12345698765432"));
        assert!(iban_ok(b"NO9386011117947"));
        assert!(iban_ok(b"FR1420041010050500013M02606"));
        assert!(!iban_ok(b"DE89370400440532013001"), "checksum");
        assert!(!iban_ok(b"DE8937040044053201300"), "length for DE");
        assert!(!iban_ok(b"ZZ89370400440532013000"), "unknown country");
        assert!(
            !iban_ok(b"GB82west12345698765432"),
            "lowercase is not compact form"
        );
    }

    #[test]
    fn ssn_rules() {
        assert!(ssn_ok(536, 22, 1234));
        for (a, g, s) in [(0, 12, 1234), (666, 12, 1234), (900, 12, 1234), (999, 1, 1)] {
            assert!(!ssn_ok(a, g, s), "area {a}");
        }
        assert!(!ssn_ok(536, 0, 1234));
        assert!(!ssn_ok(536, 22, 0));
        assert!(!ssn_ok(78, 5, 1120));
        assert!(!ssn_ok(219, 9, 9999));
        assert!(!ssn_ok(123, 45, 6789));
    }

    #[test]
    fn ipv4_octets() {
        assert_eq!(ipv4_at(b"192.168.1.10 x", 0), Some(12));
        assert_eq!(ipv4_at(b"255.255.255.255", 0), Some(15));
        assert_eq!(ipv4_at(b"256.1.1.1", 0), None);
        assert_eq!(ipv4_at(b"1.2.3", 0), None);
        assert_eq!(ipv4_at(b"01.2.3.4", 0), None);
        assert_eq!(ipv4_at(b"10.0.19045.2965", 0), None);
    }

    #[test]
    fn ipv6_forms() {
        for ok in [
            "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
            "2001:db8::1",
            "::1",
            "fe80::",
            "::ffff:192.168.1.1",
            "2001:db8:0:0:1::1",
        ] {
            assert!(ipv6_ok(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "12:30:45",
            "00:1a:2b:3c:4d:5e",
            "2001:db8:::1",
            "1::2::3",
            "g::1",
        ] {
            assert!(!ipv6_ok(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn entropy() {
        assert_eq!(shannon_entropy(b""), 0.0);
        assert_eq!(shannon_entropy(b"aaaaaaaa"), 0.0);
        assert!((shannon_entropy(b"abcdabcd") - 2.0).abs() < 1e-9);
        assert!(shannon_entropy(b"x7Kq9Lm2Pz4Rt8Vw") > 3.9);
    }

    #[test]
    fn jwt_header() {
        assert!(jwt_header_ok(b"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"));
        assert!(!jwt_header_ok(b"eyJ0eXAiOiJKV1QifQ"), "no alg");
        assert!(!jwt_header_ok(b"eyJ!!"));
    }
}
