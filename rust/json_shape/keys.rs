//! The keys of every object still open during a scan, to find a key repeated in one of them.
//!
//! All open objects share one stack of keys (an object's keys sit above its parent's, and
//! leave with it), kept on the stack for a typical body; a scan never allocates per key. A key
//! is a slice of the input, unless it contains an escape: then its decoded text is appended to
//! one shared buffer, which also shrinks back when the object closes.

use hashbrown::HashTable;
use smallvec::SmallVec;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

/// From this many keys on, an object's keys are looked up in a hash table; below it, a new key
/// is compared with each earlier one (mostly one integer test per key, see `tag`). Measured
/// (`cargo test --release -- --ignored hash_threshold --nocapture`), ns per key, scan
/// included: short keys compare at 10 to 13 up to 32 keys and hash at 14 to 16; keys picked so
/// that every comparison reads both texts (an attacker's choice) compare at 18 (8 keys), 24
/// (16) and 71 (64), and hash at 17 to 19. At 16, the objects of a chat request never build a
/// table, and picked keys cost at most 1.4 times what hashing them would.
pub(super) const HASH_FROM: usize = 16;

/// How a scan looks keys up; only tests change the default.
#[derive(Clone, Copy)]
pub(super) struct Lookup {
    /// Keys an object has before its lookups go through the hash table.
    pub(super) hash_from: usize,
    /// Every hash equal, so that a test can show that no answer rests on hashes differing.
    pub(super) hashes_collide: bool,
}

impl Lookup {
    pub(super) const DEFAULT: Lookup = Lookup {
        hash_from: HASH_FROM,
        hashes_collide: false,
    };
}

/// A chat request has a handful of open objects and a few dozen keys: these fit on the stack,
/// so a typical body is checked without allocating.
const INLINE_OBJECTS: usize = 8;
const INLINE_KEYS: usize = 32;

/// The length (up to 255) in the top byte; below it, the text itself when it is shorter than
/// 8 bytes, else its first and last 8 bytes mixed. Equal tags of short keys mean equal keys;
/// of long keys, that the texts must be compared. Different tags mean different keys, so
/// comparing with an earlier key is mostly one integer test.
fn tag(text: &[u8]) -> u64 {
    let len = text.len();
    // Overlapping loads rather than copying into a buffer: reading a word back from bytes just
    // written stalls the CPU for longer than the rest of a comparison takes.
    let body = if let (Some(head), Some(tail)) = (text.first_chunk::<8>(), text.last_chunk::<8>()) {
        let mixed = u64::from_le_bytes(*head) ^ u64::from_le_bytes(*tail).rotate_left(29);
        mixed.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 8
    } else if let (Some(head), Some(tail)) = (text.first_chunk::<4>(), text.last_chunk::<4>()) {
        // 4 to 7 bytes: the tail's bytes that the head already holds are shifted out.
        let (head, tail) = (u32::from_le_bytes(*head), u32::from_le_bytes(*tail));
        u64::from(head) | (u64::from(tail) >> (8 * (8 - len))) << 32
    } else if let [first, .., last] | [first @ last] = *text {
        u64::from(first) | u64::from(text[len / 2]) << 8 | u64::from(last) << 16
    } else {
        0
    };
    body | (len.min(255) as u64) << 56
}

struct Object {
    /// Nesting depth of the object itself (1 for the outermost).
    level: usize,
    keys_from: usize,
    decoded_from: usize,
    /// Set once the object has `HASH_FROM` keys; `serial` then tells its hash entries apart
    /// from any other object's.
    hashed: bool,
    serial: u64,
}

/// Hash table of the keys of the open objects that have `HASH_FROM` keys or more.
///
/// A closing object leaves its entries behind (taking them out costs as much as putting them
/// in); they can do no harm, since the object's serial is part of every hash and an entry only
/// counts for a key of the innermost object. Once no large object is open, the table is
/// emptied, so many medium objects in a row do not make it large.
struct Index {
    /// Seeded at random for each scan: the keys are the client's, and a fixed hash would let a
    /// client pick keys that all collide, which turns the table into a list.
    state: ahash::RandomState,
    /// (hash of the object's serial and the decoded key, the key's index in the key stack).
    table: HashTable<(u64, usize)>,
    collide: bool,
}

impl Index {
    fn new(collide: bool) -> Index {
        // ahash built without its own randomness takes its seeds from std's RandomState, whose
        // keys come from the OS once per thread and change with every instance.
        let seed = RandomState::new();
        let k = |i: u64| seed.hash_one(i);
        Index {
            state: ahash::RandomState::with_seeds(k(0), k(1), k(2), k(3)),
            table: HashTable::new(),
            collide,
        }
    }

    fn reset(&mut self) {
        // Emptying a table costs a byte per slot: a big one is dropped instead, so that the
        // medium objects that may follow a huge one do not each pay for its size.
        if self.table.capacity() <= 1024 {
            self.table.clear();
        } else {
            self.table = HashTable::new();
        }
    }

    fn hash(&self, serial: u64, text: &[u8]) -> u64 {
        if self.collide {
            return 0;
        }
        let mut h = self.state.build_hasher();
        h.write_u64(serial);
        h.write(text);
        h.finish()
    }
}

/// Where the text of each key is: `data[start..end]`, or from `data.len()` on, `decoded` at
/// the offsets less `data.len()` (the text of keys with escapes); this saves a flag per key.
struct Texts<'a> {
    data: &'a [u8],
    decoded: Vec<u8>,
}

impl Texts<'_> {
    #[inline]
    fn get(&self, (start, end): (usize, usize)) -> &[u8] {
        match start.checked_sub(self.data.len()) {
            None => &self.data[start..end],
            Some(from) => &self.decoded[from..end - self.data.len()],
        }
    }
}

pub(super) struct OpenObjects<'a> {
    texts: Texts<'a>,
    objects: SmallVec<[Object; INLINE_OBJECTS]>,
    /// The keys of all open objects, innermost last: each key's tag, and where its text is.
    keys: SmallVec<[(u64, (usize, usize)); INLINE_KEYS]>,
    index: Option<Index>,
    /// How many open objects use the index.
    hashed_open: usize,
    opened: u64,
    lookup: Lookup,
}

impl<'a> OpenObjects<'a> {
    pub(super) fn new(data: &'a [u8], lookup: Lookup) -> Self {
        OpenObjects {
            texts: Texts {
                data,
                decoded: Vec::new(),
            },
            objects: SmallVec::new(),
            keys: SmallVec::new(),
            index: None,
            hashed_open: 0,
            opened: 0,
            lookup,
        }
    }

    pub(super) fn open(&mut self, level: usize) {
        self.opened += 1;
        self.objects.push(Object {
            level,
            keys_from: self.keys.len(),
            decoded_from: self.texts.decoded.len(),
            hashed: false,
            serial: self.opened,
        });
    }

    /// Whether the innermost open container, at depth `level`, is an object (else an array).
    pub(super) fn innermost_is_object(&self, level: usize) -> bool {
        self.objects.last().is_some_and(|o| o.level == level)
    }

    /// Closes the container at depth `level`, if it is an object.
    pub(super) fn close(&mut self, level: usize) {
        if !self.innermost_is_object(level) {
            return;
        }
        let Some(object) = self.objects.pop() else {
            return;
        };
        if object.hashed {
            self.hashed_open -= 1;
            if self.hashed_open == 0 {
                if let Some(index) = &mut self.index {
                    index.reset();
                }
            }
        }
        self.keys.truncate(object.keys_from);
        self.texts.decoded.truncate(object.decoded_from);
    }

    /// Adds the key whose text (between its quotes) is `data[start..end]` to the innermost
    /// object. Returns the decoded key when the object already has it.
    pub(super) fn add(&mut self, start: usize, end: usize, escaped: bool) -> Option<Vec<u8>> {
        let Some(object) = self.objects.last_mut() else {
            // A string where a key would be, outside any object: not JSON.
            return None;
        };
        let texts = &mut self.texts;
        let span = if escaped {
            let from = texts.decoded.len();
            unescape(&texts.data[start..end], &mut texts.decoded);
            let shift = texts.data.len();
            (shift + from, shift + texts.decoded.len())
        } else {
            (start, end)
        };
        let texts = &self.texts;
        let new = texts.get(span);
        let new_tag = tag(new);
        let from = object.keys_from;
        let count = self.keys.len();
        // A slice taken once: indexing a SmallVec checks where its items live every time.
        let keys = &self.keys[..];
        let same =
            |i: usize| keys[i].0 == new_tag && (new.len() < 8 || texts.get(keys[i].1) == new);
        let repeated = if !object.hashed && count - from < self.lookup.hash_from {
            // Different tags, different keys: a text is read only when the tags are equal.
            keys[from..]
                .iter()
                .any(|&(t, span)| t == new_tag && (new.len() < 8 || texts.get(span) == new))
        } else {
            let collide = self.lookup.hashes_collide;
            let index = self.index.get_or_insert_with(|| Index::new(collide));
            if !object.hashed {
                object.hashed = true;
                self.hashed_open += 1;
                // Distinct, or the scan would have stopped at the repeat.
                for (i, &(_, span)) in keys.iter().enumerate().skip(from) {
                    let hash = index.hash(object.serial, texts.get(span));
                    index.table.insert_unique(hash, (hash, i), |&(h, _)| h);
                }
            }
            let hash = index.hash(object.serial, new);
            // Only the innermost object's keys count: the range keeps out the entries of
            // enclosing objects and those left behind by closed ones (whose index may be
            // beyond the stack, or reused by a key of this object; then `same` decides).
            let entry = index.table.entry(
                hash,
                |&(h, i)| h == hash && (from..count).contains(&i) && same(i),
                |&(h, _)| h,
            );
            match entry {
                hashbrown::hash_table::Entry::Occupied(_) => true,
                hashbrown::hash_table::Entry::Vacant(slot) => {
                    slot.insert((hash, count));
                    false
                }
            }
        };
        if repeated {
            return Some(new.to_vec());
        }
        self.keys.push((new_tag, span));
        None
    }
}

/// Appends the text of a JSON string's contents (between its quotes) as a parser decodes it,
/// in UTF-8. Total on any bytes: what is not a valid escape is copied as it stands, and a
/// lone surrogate becomes its three-byte form (orjson refuses both, so only equality among
/// valid keys matters, and that holds because a valid key is decoded exactly).
fn unescape(raw: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < raw.len() {
        let Some(at) = memchr::memchr(b'\\', &raw[i..]).map(|p| i + p) else {
            out.extend_from_slice(&raw[i..]);
            return;
        };
        out.extend_from_slice(&raw[i..at]);
        i = at + 2;
        let byte = match raw.get(at + 1) {
            Some(b'u') => match hex4(raw, at + 2) {
                Some(high @ 0xD800..=0xDBFF) => {
                    if let (Some(b'\\'), Some(b'u'), Some(low @ 0xDC00..=0xDFFF)) =
                        (raw.get(at + 6), raw.get(at + 7), hex4(raw, at + 8))
                    {
                        push_code_point(out, 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00));
                        i = at + 12;
                    } else {
                        push_code_point(out, high);
                        i = at + 6;
                    }
                    continue;
                }
                Some(unit) => {
                    push_code_point(out, unit);
                    i = at + 6;
                    continue;
                }
                None => b'u',
            },
            Some(b'b') => 0x08,
            Some(b'f') => 0x0C,
            Some(b'n') => b'\n',
            Some(b'r') => b'\r',
            Some(b't') => b'\t',
            // `\"`, `\\`, `\/` stand for the byte itself; anything else is not JSON.
            Some(&other) => other,
            None => b'\\',
        };
        out.push(byte);
    }
}

fn hex4(raw: &[u8], at: usize) -> Option<u32> {
    let digits = raw.get(at..at + 4)?;
    digits.iter().try_fold(0u32, |acc, &d| {
        let v = (d as char).to_digit(16)?;
        Some(acc << 4 | v)
    })
}

/// UTF-8 of any code point up to U+10FFFF, surrogates included (for `char`, they are not).
fn push_code_point(out: &mut Vec<u8>, cp: u32) {
    // Each `as u8` keeps the low bits of one UTF-8 byte; the truncation is the point.
    match cp {
        0..=0x7F => out.push(cp as u8),
        0x80..=0x7FF => out.extend_from_slice(&[0xC0 | (cp >> 6) as u8, 0x80 | (cp & 0x3F) as u8]),
        0x800..=0xFFFF => out.extend_from_slice(&[
            0xE0 | (cp >> 12) as u8,
            0x80 | ((cp >> 6) & 0x3F) as u8,
            0x80 | (cp & 0x3F) as u8,
        ]),
        _ => out.extend_from_slice(&[
            0xF0 | (cp >> 18) as u8,
            0x80 | ((cp >> 12) & 0x3F) as u8,
            0x80 | ((cp >> 6) & 0x3F) as u8,
            0x80 | (cp & 0x3F) as u8,
        ]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(raw: &str) -> Vec<u8> {
        let mut out = Vec::new();
        unescape(raw.as_bytes(), &mut out);
        out
    }

    #[test]
    fn unescape_decodes_as_a_json_parser_does() {
        assert_eq!(decoded("plain"), b"plain");
        assert_eq!(decoded(r"mess\u0061ges"), b"messages");
        assert_eq!(decoded(r"\u004D\u004d"), b"MM");
        assert_eq!(decoded(r#"\"\\\/\b\f\n\r\t"#), b"\"\\/\x08\x0c\n\r\t");
        assert_eq!(decoded(r"caf\u00e9"), "café".as_bytes());
        assert_eq!(decoded(r"\u65e5\u672c"), "日本".as_bytes());
        assert_eq!(decoded(r"\ud83d\ude00!"), "😀!".as_bytes());
        assert_eq!(decoded(r"\uD83D\uDE00"), "😀".as_bytes());
        assert_eq!(decoded(r"a\u0000b"), b"a\0b");
        // Raw UTF-8 next to escapes stays as it is.
        assert_eq!(decoded(r"é\u00e9é"), "ééé".as_bytes());
    }

    #[test]
    fn unescape_is_total_on_what_is_not_json() {
        // Lone surrogates: distinct three-byte forms, so distinct lone surrogates differ.
        assert_eq!(decoded(r"\ud800"), [0xED, 0xA0, 0x80]);
        assert_eq!(decoded(r"\udc00"), [0xED, 0xB0, 0x80]);
        assert_eq!(decoded(r"\ud800\u0041"), [0xED, 0xA0, 0x80, b'A']);
        assert_eq!(
            decoded(r"\ud800\ud800"),
            [0xED, 0xA0, 0x80, 0xED, 0xA0, 0x80]
        );
        assert_eq!(decoded(r"\u12"), b"u12");
        assert_eq!(decoded(r"\uZZZZ"), b"uZZZZ");
        assert_eq!(decoded(r"\x"), b"x");
        assert_eq!(decoded("end\\"), b"end\\");
        assert_eq!(decoded(r"\ud83d\ude"), [0xED, 0xA0, 0xBD, b'u', b'd', b'e']);
    }

    #[test]
    fn push_code_point_agrees_with_char_encoding() {
        for cp in (0..0x11_0000u32)
            .step_by(7)
            .chain([0x7F, 0x80, 0x7FF, 0x800, 0xFFFF, 0x10000, 0x10FFFF])
        {
            let mut out = Vec::new();
            push_code_point(&mut out, cp);
            match char::from_u32(cp) {
                Some(c) => assert_eq!(out, c.to_string().as_bytes(), "{cp:#x}"),
                None => assert_eq!(out.len(), 3, "{cp:#x}"),
            }
        }
    }

    fn lookups() -> impl Iterator<Item = Lookup> {
        [0, 1, 2, 3, HASH_FROM, usize::MAX]
            .into_iter()
            .flat_map(|hash_from| {
                [false, true].map(|hashes_collide| Lookup {
                    hash_from,
                    hashes_collide,
                })
            })
    }

    fn add_all(lookup: Lookup, keys: &[&str]) -> Option<Vec<u8>> {
        let text: String = keys.concat();
        let mut objects = OpenObjects::new(text.as_bytes(), lookup);
        objects.open(1);
        let mut at = 0;
        for key in keys {
            let end = at + key.len();
            if let Some(repeated) = objects.add(at, end, key.contains('\\')) {
                return Some(repeated);
            }
            at = end;
        }
        None
    }

    #[test]
    fn finds_a_repeat_below_and_above_the_hash_threshold() {
        let many: Vec<String> = (0..100).map(|i| format!("k{i}")).collect();
        for lookup in lookups() {
            let mut keys: Vec<&str> = many.iter().map(String::as_str).collect();
            assert_eq!(add_all(lookup, &keys), None);
            keys.push("k57");
            assert_eq!(add_all(lookup, &keys), Some(b"k57".to_vec()));
            keys.pop();
            keys.push(r"\u006b57");
            assert_eq!(add_all(lookup, &keys), Some(b"k57".to_vec()));
            assert_eq!(add_all(lookup, &[r"\u006b", "k"]), Some(b"k".to_vec()));
            assert_eq!(add_all(lookup, &["", ""]), Some(Vec::new()));
        }
    }

    #[test]
    fn keys_with_equal_tags_are_told_apart() {
        // Same length, same first and last 8 bytes: equal tags, different keys.
        let alike: Vec<String> = (0..40).map(|i| format!("prefix__{i:02}__suffix")).collect();
        assert!(alike
            .windows(2)
            .all(|w| tag(w[0].as_bytes()) == tag(w[1].as_bytes())));
        for lookup in lookups() {
            let mut keys: Vec<&str> = alike.iter().map(String::as_str).collect();
            assert_eq!(add_all(lookup, &keys), None);
            keys.push("prefix__07__suffix");
            assert_eq!(add_all(lookup, &keys), Some(b"prefix__07__suffix".to_vec()));
        }
    }

    #[test]
    fn the_tag_of_a_short_key_is_the_key() {
        // Every text of up to 3 bytes over a few byte values, and many of 4 to 7: equal tags
        // only for equal texts, which is what lets short keys skip comparing texts.
        const BYTES: &[u8] = b"\0a\x7f\x80\xff";
        let mut texts: Vec<Vec<u8>> = vec![Vec::new()];
        for len in 1..=3 {
            let shorter: Vec<Vec<u8>> = texts
                .iter()
                .filter(|t| t.len() == len - 1)
                .cloned()
                .collect();
            for text in shorter {
                for &b in BYTES {
                    texts.push([text.as_slice(), &[b]].concat());
                }
            }
        }
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = 4 + (state % 4) as usize;
            texts.push(
                (0..len)
                    .map(|i| BYTES[(state >> (8 * i + 3)) as usize % BYTES.len()])
                    .collect(),
            );
        }
        let mut by_tag = std::collections::HashMap::new();
        for text in &texts {
            if let Some(other) = by_tag.insert(tag(text), text) {
                assert_eq!(other, text);
            }
        }
    }

    #[test]
    fn a_closed_object_takes_its_keys_with_it() {
        for lookup in lookups() {
            let data = b"abcabc";
            let mut objects = OpenObjects::new(data, lookup);
            objects.open(1);
            assert_eq!(objects.add(0, 1, false), None);
            objects.open(2);
            assert_eq!(
                objects.add(3, 4, false),
                None,
                "the parent's key does not count"
            );
            assert_eq!(objects.add(1, 2, false), None);
            assert_eq!(objects.add(2, 3, false), None);
            objects.close(2);
            objects.open(2);
            assert_eq!(objects.add(3, 4, false), None, "nor a closed sibling's");
            assert_eq!(objects.add(4, 5, false), None);
            assert_eq!(objects.add(5, 6, false), None);
            objects.close(2);
            assert_eq!(objects.add(4, 5, false), None);
            assert_eq!(objects.add(3, 4, false), Some(b"a".to_vec()));
        }
    }
}
