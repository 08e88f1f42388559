//! The scan itself: brackets for the depth, strings skipped with memchr (their contents are the
//! bulk of a chat request), and the few structural bytes that tell a key from a value.

use memchr::memchr2;

use super::keys::{Lookup, OpenObjects};

/// Why a body fails the shape check; `at` is a byte offset into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The opening bracket at `at` nests deeper than the limit.
    TooDeep { at: usize },
    /// The key whose opening quote is at `at` repeats an earlier key of the same object;
    /// `key` is its decoded text (UTF-8 when the input is valid JSON).
    DuplicateKey { at: usize, key: Vec<u8> },
    /// A string contains the escape `\u0000`, starting at `at`.
    NulEscape { at: usize },
}

/// Checks the shape of the JSON text `data`; on success, returns its maximum nesting depth of
/// objects and arrays (`0` for a scalar or for no JSON at all, `1` for `{}` or `[1, 2]`, `2`
/// for `[{}]`).
///
/// The scan stops at the first fault, in the order of the text: an opening bracket that takes
/// the depth above `max_depth` (the rest of the input is never read), a key that repeats one
/// of its object's earlier keys, or a `\u0000` escape.
///
/// Being a scan, it is total: an unmatched closing bracket never takes the depth below zero,
/// and an unterminated string simply runs to the end of the input.
pub fn json_shape(data: &[u8], max_depth: usize) -> Result<usize, Fault> {
    scan(data, max_depth, Lookup::DEFAULT)
}

pub(super) fn scan(data: &[u8], max_depth: usize, lookup: Lookup) -> Result<usize, Fault> {
    let mut objects = OpenObjects::new(data, lookup);
    let mut depth = 0usize;
    let mut max = 0usize;
    // Whether the innermost container is an object; kept here because every `,` asks.
    let mut in_object = false;
    // Right after `{`, or after `,` in an object: the next string is a key.
    let mut expect_key = false;
    let mut i = 0;
    while let Some(&byte) = data.get(i) {
        match byte {
            b'{' | b'[' => {
                depth += 1;
                if depth > max {
                    max = depth;
                    if max > max_depth {
                        return Err(Fault::TooDeep { at: i });
                    }
                }
                in_object = byte == b'{';
                expect_key = in_object;
                if in_object {
                    objects.open(depth);
                }
            }
            b'}' | b']' => {
                objects.close(depth);
                depth = depth.saturating_sub(1);
                in_object = objects.innermost_is_object(depth);
                expect_key = false;
            }
            b',' => expect_key = in_object,
            b'"' => {
                let Some((end, escaped)) = string_end(data, i + 1)? else {
                    return Ok(max);
                };
                if expect_key {
                    if let Some(key) = objects.add(i + 1, end, escaped) {
                        return Err(Fault::DuplicateKey { at: i, key });
                    }
                    expect_key = false;
                }
                i = end;
            }
            _ => {}
        }
        i += 1;
    }
    Ok(max)
}

/// Index of the quote that closes the string whose contents start at `from`, and whether the
/// contents hold an escape; `None` when the input ends first.
fn string_end(data: &[u8], mut from: usize) -> Result<Option<(usize, bool)>, Fault> {
    let mut escaped = false;
    loop {
        let Some(at) = quote_or_backslash(data, from) else {
            return Ok(None);
        };
        if data[at] == b'"' {
            return Ok(Some((at, escaped)));
        }
        escaped = true;
        if data.get(at + 1..at + 6) == Some(b"u0000") {
            return Err(Fault::NulEscape { at });
        }
        // A backslash escapes exactly one byte (`\uXXXX` continues with plain hex digits).
        from = at + 2;
    }
}

/// Index of the first `"` or `\\` from `from` on.
#[inline]
fn quote_or_backslash(data: &[u8], from: usize) -> Option<usize> {
    let rest = data.get(from..)?;
    // Keys, short values and the gaps between escapes mostly end within 8 bytes: one word
    // tested at once answers sooner than memchr is set up (measured: a third of the scan of a
    // chat request with tools).
    if let Some(word) = rest.first_chunk::<8>() {
        let found = special_bytes(u64::from_le_bytes(*word));
        if found != 0 {
            return Some(from + (found.trailing_zeros() / 8) as usize);
        }
        return memchr2(b'"', b'\\', &rest[8..]).map(|i| from + 8 + i);
    }
    memchr2(b'"', b'\\', rest).map(|i| from + i)
}

/// The high bit of each byte of `word` that is `"` or `\\`, exact up to the first one (a
/// borrow can mark bytes above a match, which `trailing_zeros` never looks at).
#[inline]
fn special_bytes(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    zero(word ^ (ONES * u64::from(b'"'))) | zero(word ^ (ONES * u64::from(b'\\')))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The default, hashing from the first key or the third, never hashing, and hashing with
    /// every hash equal (so that no answer rests on hashes differing).
    const LOOKUPS: [Lookup; 5] = [
        Lookup::DEFAULT,
        Lookup {
            hash_from: 0,
            hashes_collide: false,
        },
        Lookup {
            hash_from: 3,
            hashes_collide: false,
        },
        Lookup {
            hash_from: usize::MAX,
            hashes_collide: false,
        },
        Lookup {
            hash_from: 0,
            hashes_collide: true,
        },
    ];

    fn depth(s: &str) -> usize {
        json_shape(s.as_bytes(), usize::MAX).unwrap()
    }

    fn fault(s: &str) -> Fault {
        json_shape(s.as_bytes(), usize::MAX).unwrap_err()
    }

    fn duplicate(at: usize, key: &str) -> Fault {
        Fault::DuplicateKey {
            at,
            key: key.as_bytes().to_vec(),
        }
    }

    /// The obvious byte-at-a-time state machine for the depth, to check the memchr version.
    fn reference_depth(data: &[u8]) -> usize {
        let (mut depth, mut max, mut in_string, mut escaped) = (0usize, 0usize, false, false);
        for &b in data {
            if in_string {
                if escaped {
                    escaped = false;
                } else if b == b'\\' {
                    escaped = true;
                } else if b == b'"' {
                    in_string = false;
                }
                continue;
            }
            match b {
                b'{' | b'[' => {
                    depth += 1;
                    max = max.max(depth);
                }
                b'}' | b']' => depth = depth.saturating_sub(1),
                b'"' => in_string = true,
                _ => {}
            }
        }
        max
    }

    #[test]
    fn scalars_and_empty_input_have_depth_zero() {
        for s in ["", "1", "\"x\"", "true", "null", "  ", "garbage"] {
            assert_eq!(depth(s), 0, "{s:?}");
        }
    }

    #[test]
    fn counts_objects_and_arrays_alike() {
        assert_eq!(depth("{}"), 1);
        assert_eq!(depth("[1, 2, 3]"), 1);
        assert_eq!(depth("[{}]"), 2);
        assert_eq!(depth(r#"{"a": [{"b": [[]]}], "c": {}}"#), 5);
        assert_eq!(depth("[[], [], [[]]]"), 3);
    }

    #[test]
    fn brackets_inside_strings_do_not_count() {
        assert_eq!(depth(r#"{"k": "[[[{{{"}"#), 1);
        assert_eq!(depth(r#"["]]]]", ["}"]]"#), 2);
        assert_eq!(depth(r#""[[[""#), 0);
    }

    #[test]
    fn escaped_quotes_do_not_end_a_string() {
        assert_eq!(depth(r#"{"k": "a\"[[[\"b"}"#), 1);
        // `\\` is an escaped backslash: the quote after it does end the string.
        assert_eq!(depth(r#"["a\\", [[1]]]"#), 3);
        assert_eq!(depth(r#"["\\\"[[", []]"#), 2);
        assert_eq!(depth(r#"["\u005b\u007b", [1]]"#), 2);
    }

    #[test]
    fn unterminated_input_is_answered_not_rejected() {
        assert_eq!(depth(r#"[[ "never closed [[[["#), 2);
        assert_eq!(depth(r#"["trailing backslash \"#), 1);
        assert_eq!(depth("[[[["), 4);
        assert_eq!(depth("]]]]["), 1);
        assert_eq!(depth("}}{"), 1);
        assert_eq!(depth(r#"{"a" "#), 1);
        assert_eq!(depth(r#"{"a\u00"#), 1);
    }

    #[test]
    fn limit_stops_the_scan_at_the_first_bracket_over_it() {
        let deep = "[".repeat(100_000);
        assert_eq!(
            json_shape(deep.as_bytes(), 64),
            Err(Fault::TooDeep { at: 64 })
        );
        assert_eq!(
            json_shape(deep.as_bytes(), 0),
            Err(Fault::TooDeep { at: 0 })
        );
        assert_eq!(json_shape(deep.as_bytes(), usize::MAX), Ok(100_000));
        // At or under the limit the answer is the exact depth.
        assert_eq!(json_shape(b"[[[]]]", 3), Ok(3));
        assert_eq!(json_shape(b"[[[]]]", 2), Err(Fault::TooDeep { at: 2 }));
        assert_eq!(json_shape(b"[[],[[]]]", 2), Err(Fault::TooDeep { at: 5 }));
        // What follows the point of rejection is never read, even a repeated key.
        assert_eq!(
            json_shape(br#"[[[{"a":1,"a":2}"#, 2),
            Err(Fault::TooDeep { at: 2 })
        );
    }

    /// Checks that `text` fails on its last occurrence of `written` (a key, quotes included),
    /// which decodes to `key`.
    fn assert_repeats(text: &str, written: &str, key: &str) {
        let at = text.rfind(written).unwrap();
        assert_eq!(fault(text), duplicate(at, key), "{text}");
    }

    #[test]
    fn a_repeated_key_is_found_at_any_depth() {
        assert_repeats(r#"{"a":1,"a":2}"#, r#""a""#, "a");
        let smuggled =
            r#"{"model":"x","messages":[{"role":"user","content":"secret"}],"messages":[]}"#;
        assert_repeats(smuggled, r#""messages""#, "messages");
        assert_repeats(r#"[0, {"b": {"c": [{"d": 1, "d": 2}]}}]"#, r#""d""#, "d");
        assert_repeats(r#"{"a": {}, "b": [], "a": null}"#, r#""a""#, "a");
        assert_repeats(r#"{"": 1, "": 2}"#, r#""""#, "");
        // After nested objects have come and gone, the outer object still knows its keys.
        let nested = r#"{"a": {"x": {"y": 1}}, "b": [{"a": 1}], "a": 2}"#;
        assert_repeats(nested, r#""a""#, "a");
        // The first repeat in the text is the one reported.
        assert_repeats(r#"{"b": 1, "a": [{"c":1,"c":2}], "b": 2}"#, r#""c""#, "c");
    }

    #[test]
    fn keys_are_compared_as_decoded() {
        for (text, written, key) in [
            (
                r#"{"messages":[], "mess\u0061ges":[]}"#,
                r#""mess\u0061ges""#,
                "messages",
            ),
            (r#"{"\u006D":1,"\u006d":2}"#, r#""\u006d""#, "m"),
            (r#"{"😀":1,"\ud83d\ude00":2}"#, r#""\ud83d\ude00""#, "😀"),
            (r#"{"\uD83D\uDE00":1,"😀":2}"#, r#""😀""#, "😀"),
            (r#"{"café":1,"caf\u00e9":2}"#, r#""caf\u00e9""#, "café"),
            (r#"{"a/b":1,"a\/b":2}"#, r#""a\/b""#, "a/b"),
            (r#"{"\"":1,"\u0022":2}"#, r#""\u0022""#, "\""),
            (
                r#"{"\n\t":1,"\u000a\u0009":2}"#,
                r#""\u000a\u0009""#,
                "\n\t",
            ),
            (r#"{"\\":1,"\u005c":2}"#, r#""\u005c""#, "\\"),
        ] {
            assert_repeats(text, written, key);
        }
    }

    #[test]
    fn no_false_repeats_in_valid_json() {
        for s in [
            // A key equal to a value, to its own value, or to a value in another object.
            r#"{"a": "a", "b": "a"}"#,
            r#"{"role": "role", "content": ["role", "content"]}"#,
            // The same key in sibling objects, in nested objects, in objects in arrays.
            r#"[{"a": 1}, {"a": 2}, {"a": {"a": {"a": 3}}}]"#,
            r#"{"a": {"a": 1}, "b": {"a": 2, "b": 3}}"#,
            r#"{"m": [{"role": "u", "c": 1}, {"role": "a", "c": 2}], "c": 3, "role": 4}"#,
            // Keys that differ only by case, by an escape that decodes elsewhere, or by a
            // backslash that escapes a backslash.
            r#"{"messages": 1, "Messages": 2, "MESSAGES": 3}"#,
            r#"{"a\\u0061": 1, "aa": 2, "a\\\u0061": 3}"#,
            r#"{"\u00e9": 1, "e\u0301": 2}"#,
            r#"{"a": 1, "a ": 2, " a": 3, "A": 4, "\u0061b": 5}"#,
        ] {
            assert_eq!(
                json_shape(s.as_bytes(), usize::MAX).map(|_| ()),
                Ok(()),
                "{s}"
            );
        }
    }

    #[test]
    fn a_nul_escape_is_refused_anywhere() {
        assert_eq!(fault(r#"{"a": "x\u0000y"}"#), Fault::NulEscape { at: 8 });
        assert_eq!(fault(r#"{"a\u0000": 1}"#), Fault::NulEscape { at: 3 });
        assert_eq!(fault(r#"["\u0000"]"#), Fault::NulEscape { at: 2 });
        assert_eq!(fault(r#""\u0000""#), Fault::NulEscape { at: 1 });
        // An escaped backslash followed by the text `u0000` is not an escape.
        assert_eq!(depth(r#"["\\u0000", "\\\\u0000"]"#), 1);
        // Other escapes of control characters are ordinary text.
        assert_eq!(depth(r#"["\u0001\u001f\u0100\u1000"]"#), 1);
    }

    #[test]
    fn agrees_with_the_byte_at_a_time_reference_on_any_text() {
        // Random texts over the bytes that matter, deterministic (xorshift), short and long.
        // Most are not JSON, so a repeat or a NUL may stop the scan; when it does not, the
        // depth is the reference's.
        const ALPHABET: &[u8] = b"{}[]\"\\\\ a,:\"{[u0";
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        for round in 0..5_000 {
            let len = (rng.next() % if round % 10 == 0 { 2_000 } else { 40 }) as usize;
            let text: Vec<u8> = (0..len).map(|_| *rng.pick(ALPHABET)).collect();
            let shown = String::from_utf8_lossy(&text);
            let expected = reference_depth(&text);
            let limit = (rng.next() % 6) as usize;
            for lookup in LOOKUPS {
                match scan(&text, usize::MAX, lookup) {
                    Ok(depth) => assert_eq!(depth, expected, "{shown:?}"),
                    Err(Fault::TooDeep { .. }) => panic!("no limit, yet too deep: {shown:?}"),
                    Err(Fault::DuplicateKey { at, .. } | Fault::NulEscape { at }) => {
                        assert!(at < text.len(), "{shown:?}");
                    }
                }
                match scan(&text, limit, lookup) {
                    Ok(depth) => assert!(depth <= limit && depth == expected, "{shown:?}"),
                    Err(Fault::TooDeep { at }) => {
                        assert_eq!(reference_depth(&text[..=at]), limit + 1, "{shown:?}");
                    }
                    Err(_) => {}
                }
            }
        }
    }

    // ---- valid JSON against a generator that knows what it wrote ----------------------------

    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
            &items[self.below(items.len())]
        }
    }

    /// What the scan must meet in the text, in order.
    #[derive(Debug)]
    enum Event {
        Open { at: usize, depth: usize },
        Repeat { at: usize, key: String },
        Nul { at: usize },
    }

    /// Writes random valid JSON and notes, as it writes, every event the scan must see; the
    /// keys it repeats are known as text before any encoding, so this reference shares no
    /// code with the scan.
    struct Writer {
        rng: XorShift,
        out: String,
        events: Vec<Event>,
        nul: bool,
    }

    // Few, short keys so that repeats are common; they double as string values.
    // The last two have equal tags (same length, same first and last 8 bytes).
    const KEYS: &[&str] = &[
        "a",
        "b",
        "ab",
        "é",
        "😀",
        "messages",
        "\"",
        "\\",
        "/",
        "\n",
        "\u{1}",
        "",
        "prefix__1__suffix",
        "prefix__2__suffix",
    ];

    impl Writer {
        fn space(&mut self) {
            let ws = *self.rng.pick(&["", "", "", " ", "\n  ", "\t", "\r\n"]);
            self.out.push_str(ws);
        }

        /// A JSON string for `text`, each character written raw or as an escape, at random.
        fn string(&mut self, text: &str) {
            self.out.push('"');
            for c in text.chars() {
                let escape = self.rng.below(3) == 0;
                match c {
                    '"' => self.out.push_str(if escape { "\\u0022" } else { "\\\"" }),
                    '\\' => self.out.push_str(if escape { "\\u005C" } else { "\\\\" }),
                    '\n' => self.out.push_str(if escape { "\\u000a" } else { "\\n" }),
                    '/' if escape => self.out.push_str("\\/"),
                    c if (c as u32) < 0x20 || escape => {
                        let mut units = [0u16; 2];
                        for unit in c.encode_utf16(&mut units) {
                            let hex = if self.rng.below(2) == 0 {
                                format!("\\u{unit:04x}")
                            } else {
                                format!("\\u{unit:04X}")
                            };
                            self.out.push_str(&hex);
                        }
                    }
                    c => self.out.push(c),
                }
            }
            self.out.push('"');
        }

        fn value(&mut self, depth: usize) {
            self.space();
            let choice = if depth >= 8 {
                5 + self.rng.below(5)
            } else {
                self.rng.below(10)
            };
            match choice {
                0..=2 => {
                    let at = self.out.len();
                    self.events.push(Event::Open {
                        at,
                        depth: depth + 1,
                    });
                    self.out.push('{');
                    let mut seen: Vec<String> = Vec::new();
                    // Now and then one large enough to take the hash table.
                    let most = if self.rng.below(8) == 0 { 60 } else { 5 };
                    for n in 0..self.rng.below(most) {
                        if n > 0 {
                            self.out.push(',');
                        }
                        self.space();
                        let mut key = (*self.rng.pick(KEYS)).to_owned();
                        // Most objects are valid requests: repeat a key only now and then. The
                        // suffix makes a key no other position of this object can write.
                        if seen.contains(&key) && self.rng.below(4) != 0 {
                            key = format!("{key}{n}");
                        }
                        if seen.contains(&key) {
                            let at = self.out.len();
                            self.events.push(Event::Repeat {
                                at,
                                key: key.clone(),
                            });
                        }
                        self.string(&key);
                        seen.push(key);
                        self.space();
                        self.out.push(':');
                        self.value(depth + 1);
                    }
                    self.space();
                    self.out.push('}');
                }
                3..=4 => {
                    let at = self.out.len();
                    self.events.push(Event::Open {
                        at,
                        depth: depth + 1,
                    });
                    self.out.push('[');
                    for n in 0..self.rng.below(5) {
                        if n > 0 {
                            self.out.push(',');
                        }
                        self.value(depth + 1);
                    }
                    self.space();
                    self.out.push(']');
                }
                5..=6 => {
                    let text = (*self.rng.pick(KEYS)).to_owned();
                    self.string(&text);
                }
                7 if self.nul && self.rng.below(20) == 0 => {
                    self.out.push_str("\"a");
                    self.events.push(Event::Nul { at: self.out.len() });
                    self.out.push_str("\\u0000\"");
                }
                _ => {
                    let scalar = *self.rng.pick(&[
                        "0",
                        "-1.5e3",
                        "true",
                        "false",
                        "null",
                        "123456789012345678901234567890",
                    ]);
                    self.out.push_str(scalar);
                }
            }
            self.space();
        }
    }

    /// The first event that stops the scan under `limit`, or the depth when none does.
    fn expected(events: &[Event], limit: usize) -> Result<usize, Fault> {
        let mut max = 0;
        for event in events {
            match event {
                Event::Open { at, depth } if *depth > limit => {
                    return Err(Fault::TooDeep { at: *at })
                }
                Event::Open { depth, .. } => max = max.max(*depth),
                Event::Repeat { at, key } => return Err(duplicate(*at, key)),
                Event::Nul { at } => return Err(Fault::NulEscape { at: *at }),
            }
        }
        Ok(max)
    }

    #[test]
    fn agrees_with_the_writer_on_valid_json() {
        let mut writer = Writer {
            rng: XorShift(0x2545_F491_4F6C_DD1D),
            out: String::new(),
            events: Vec::new(),
            nul: false,
        };
        let (mut clean, mut repeats) = (0, 0);
        for round in 0..20_000 {
            writer.out.clear();
            writer.events.clear();
            writer.nul = round % 4 == 0;
            writer.value(0);
            let text = writer.out.as_bytes();
            for limit in [0, 1, 2, 3, 5, 8, usize::MAX] {
                let want = expected(&writer.events, limit);
                for lookup in LOOKUPS {
                    assert_eq!(
                        scan(text, limit, lookup),
                        want,
                        "limit {limit}, hash from {}, collide {}: {}",
                        lookup.hash_from,
                        lookup.hashes_collide,
                        writer.out
                    );
                }
            }
            match expected(&writer.events, usize::MAX) {
                Ok(_) => clean += 1,
                Err(Fault::DuplicateKey { .. }) => repeats += 1,
                Err(_) => {}
            }
        }
        // Both kinds must be common, or the test proves little.
        assert!(
            clean > 5_000 && repeats > 2_000,
            "{clean} clean, {repeats} with a repeat"
        );
    }

    /// Not a test: times linear comparison against the hash table, to place `HASH_FROM`.
    #[test]
    #[ignore = "a measurement; run with --release -- --ignored --nocapture"]
    fn hash_threshold() {
        use std::time::Instant;
        // Short keys with different tags (one integer test per comparison), and long ones
        // whose tags are all equal (every comparison reads both texts): the best and the
        // worst case for comparing.
        fn short(i: usize) -> String {
            format!("key{i:04}")
        }
        fn equal_tags(i: usize) -> String {
            format!("prefix__{i:04}__suffix")
        }
        for (label, key) in [
            ("short keys", short as fn(usize) -> String),
            ("equal tags", equal_tags),
        ] {
            println!("{label}, ns per key:");
            for n in [8usize, 12, 16, 20, 24, 32, 48, 64] {
                let object = format!(
                    "{{{}}}",
                    (0..n)
                        .map(|i| format!("\"{}\":0", key(i)))
                        .collect::<Vec<_>>()
                        .join(",")
                );
                let body = format!("[{}]", vec![object.as_str(); 2_000].join(","));
                let mut line = format!("{n:>4} keys:");
                for (how, hash_from) in [("compare", usize::MAX), ("hash", 0)] {
                    let lookup = Lookup {
                        hash_from,
                        hashes_collide: false,
                    };
                    let mut best = f64::MAX;
                    for _ in 0..20 {
                        let start = Instant::now();
                        assert!(scan(body.as_bytes(), 64, lookup).is_ok());
                        best = best.min(start.elapsed().as_secs_f64());
                    }
                    line += &format!(" {how} {:5.1}", best * 1e9 / (n * 2_000) as f64);
                }
                println!("{line}");
            }
        }
    }
}
