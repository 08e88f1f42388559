//! Streaming redaction. Text is released as soon as no match can still start in it; only the
//! tail that could still become (or complete) a match is held back.
//!
//! "Could still start here" is decided exactly by a liveness automaton: a DFA over a superset
//! of every detector's language, run anchored from every byte position. A start position stays
//! live while the text after it is still a prefix of some word of that language. The DFA
//! reports a match one byte late, so a start dies at least one byte after its last possible
//! match end: with the dying byte itself that covers the two bytes any detector may inspect
//! past a match. Everything before the
//! earliest live start is final, so scanning it gives the same matches as scanning the whole
//! text — the streamed output equals whole-text redaction for every chunking.
//!
//! Bound on the hold-back: at most `MAX_HOLD` bytes (8 KiB, the longest JWT) past a live start
//! (or the longest admin token's length, if longer), and at most `PRIVATE_KEY_MAX` (16 KiB)
//! after an unterminated private-key header. In prose it is the last word (any word could still
//! become an email address).

use regex_automata::dfa::dense;
use regex_automata::dfa::{Automaton, StartKind};
use regex_automata::util::primitives::StateID;
use regex_automata::util::start;
use regex_automata::{Anchored, MatchKind};
use std::sync::{Arc, OnceLock};

use super::detectors::{RuleSet, KEY_WORDS, LEFT_CONTEXT};
use super::kinds::*;
use super::redact::{Numbering, Replacer, Style};
use crate::errors::{CoreError, CoreResult};

pub const MAX_HOLD: usize = 8 * 1024 + 64;

pub struct Liveness {
    dfa: dense::DFA<Vec<u32>>,
    /// Bytes past a live start after which it is dropped (`MAX_HOLD`, or more for a longer
    /// admin token, whose every proper prefix must stay held).
    max_hold: usize,
}

impl Liveness {
    pub fn build(rules: &RuleSet) -> CoreResult<Self> {
        let on = |k: KindId| rules.on[k as usize];
        let mut pats: Vec<String> = Vec::new();
        if on(EMAIL) {
            pats.push(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]*".into());
        }
        if [PHONE, CREDIT_CARD, US_SSN, IP_ADDRESS]
            .iter()
            .any(|&k| on(k))
        {
            pats.push(r"[+(]?[0-9](?:[0-9 ().#+/\-]|[xX]|(?i:ext\.?))*".into());
        }
        if on(IBAN) {
            pats.push(r"[A-Z]{2}[0-9]{2}[A-Z0-9 ]*".into());
        }
        if on(IP_ADDRESS) {
            pats.push(r"[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*".into());
        }
        if on(GENERIC_SECRET) || on(AWS_SECRET_KEY) {
            let words: Vec<String> = KEY_WORDS
                .iter()
                .map(|w| regex_syntax_escape(w))
                .chain(["key".into()])
                .collect();
            pats.push(format!(
                r#"(?i:{})[A-Za-z0-9_.\-]*["'`]?[ \t]*[:=][:=>]*[ \t]*["'`]?(?:(?i:bearer|basic|token) +)?[A-Za-z0-9_\-+/=.~!@#$%^&*?]*"#,
                words.join("|")
            ));
        }
        let secrets: [(KindId, &str); 13] = [
            (OPENAI_API_KEY, r"sk-[A-Za-z0-9_\-]*"),
            (ANTHROPIC_API_KEY, r"sk-[A-Za-z0-9_\-]*"),
            (STRIPE_KEY, r"[rs]k_(?:live|test)_[A-Za-z0-9]*"),
            (AWS_ACCESS_KEY, r"A(?:KIA|SIA)[A-Za-z0-9_\-]*"),
            (GOOGLE_API_KEY, r"AIza[A-Za-z0-9_\-]*"),
            (GITHUB_TOKEN, r"gh[pousr]_[A-Za-z0-9]*"),
            (GITHUB_TOKEN, r"github_pat_[A-Za-z0-9_]*"),
            (SLACK_TOKEN, r"xox[abposr]-[A-Za-z0-9\-]*"),
            (SLACK_TOKEN, r"https://hooks\.slack\.com/[A-Za-z0-9_/+\-]*"),
            (PRIVATE_KEY, r"-----BEGIN[ A-Z0-9]*-----"),
            (JWT, r"eyJ[A-Za-z0-9_\-]*(?:\.[A-Za-z0-9_\-]*){0,2}"),
            (PALISADE_VIRTUAL_KEY, r"pal-[A-Za-z0-9_\-]*"),
            (PALISADE_ACCESS_TOKEN, r"pat-[A-Za-z0-9_\-]*"),
        ];
        for (k, p) in secrets {
            if on(k) {
                pats.push(p.into());
            }
        }
        for c in &rules.custom {
            pats.push(c.regex.as_str().to_owned());
        }
        if let Some(kw) = &rules.keywords {
            let words: Vec<String> = (0..kw.ac.patterns_len())
                .map(|i| regex_syntax_escape(&rules.keyword_text(i)))
                .collect();
            pats.push(format!("(?i:{})", words.join("|")));
        }
        // Exact and case-sensitive, as they are matched: a start stays live while the text
        // after it is a prefix of a token, so a tail of up to (longest token - 1) bytes that
        // could still complete one is held back, and nothing more.
        let mut max_hold = MAX_HOLD;
        for t in rules.admin_tokens() {
            pats.push(regex_syntax_escape(t));
            max_hold = max_hold.max(t.len() + 1);
        }
        if pats.is_empty() {
            pats.push("[^\\s\\S]".into());
        }
        let dfa = dense::Builder::new()
            .configure(
                dense::Config::new()
                    // All, not leftmost-first: a finished match of one superset must not prune
                    // the threads of the others (digits "956" vs the IPv6 "956c:...").
                    .match_kind(MatchKind::All)
                    .start_kind(StartKind::Anchored)
                    .unicode_word_boundary(true)
                    .dfa_size_limit(Some(64 << 20))
                    .determinize_size_limit(Some(64 << 20)),
            )
            .build_many(&pats)
            .map_err(|e| {
                CoreError::InvalidInput(format!(
                    "the custom patterns are too complex to stream: {e}"
                ))
            })?;
        Ok(Liveness { dfa, max_hold })
    }

    #[inline]
    fn start(&self, prev: Option<u8>) -> StateID {
        let cfg = start::Config::new()
            .anchored(Anchored::Yes)
            .look_behind(prev);
        // An anchored start state always exists for an anchored-start DFA.
        self.dfa.start_state(&cfg).unwrap_or_else(|_| {
            self.dfa
                .start_state(&start::Config::new().anchored(Anchored::Yes))
                .expect("anchored start")
        })
    }
}

fn regex_syntax_escape(s: &str) -> String {
    regex::escape(s)
}

/// A rule set with its liveness automaton, built when the first stream needs it: whole-text
/// scans use the `RuleSet` alone and never pay for it.
pub struct StreamRules {
    pub rules: Arc<RuleSet>,
    live: OnceLock<CoreResult<Arc<Liveness>>>,
}

impl StreamRules {
    pub fn new(rules: Arc<RuleSet>) -> Self {
        StreamRules {
            rules,
            live: OnceLock::new(),
        }
    }

    fn liveness(&self) -> CoreResult<Arc<Liveness>> {
        self.live
            .get_or_init(|| Liveness::build(&self.rules).map(Arc::new))
            .clone()
    }
}

/// Holds the unreleased text of one stream (plus `LEFT_CONTEXT` released bytes for the
/// detectors that look back) and decides how much of it is final.
pub struct StreamScanner {
    rules: Arc<RuleSet>,
    lv: Arc<Liveness>,
    buf: String,
    /// Global byte offset of `buf[0]`.
    base: usize,
    released: usize,
    /// (start, state) of every start position still live; at most one per state, the earliest.
    live: Vec<(usize, StateID)>,
}

impl StreamScanner {
    pub fn new(rules: &StreamRules) -> CoreResult<Self> {
        Ok(StreamScanner {
            rules: Arc::clone(&rules.rules),
            lv: rules.liveness()?,
            buf: String::new(),
            base: 0,
            released: 0,
            live: Vec::new(),
        })
    }

    pub fn held_bytes(&self) -> usize {
        self.base + self.buf.len() - self.released
    }

    pub fn push(&mut self, chunk: &str) {
        let start = self.base + self.buf.len();
        self.buf.push_str(chunk);
        let lv = Arc::clone(&self.lv);
        let dfa = &lv.dfa;
        let b = self.buf.as_bytes();
        for g in start..self.base + b.len() {
            let c = b[g - self.base];
            self.live.retain_mut(|(s, st)| {
                if dfa.is_quit_state(*st) {
                    // Non-ASCII under a Unicode word boundary: undecidable, keep until the cap.
                    return g - *s < lv.max_hold;
                }
                let n = dfa.next_state(*st, c);
                if dfa.is_dead_state(n) || g - *s >= lv.max_hold {
                    false
                } else {
                    *st = n;
                    true
                }
            });
            let mut k = 1;
            while k < self.live.len() {
                let st = self.live[k].1;
                if self.live[..k].iter().any(|(_, o)| *o == st) {
                    self.live.remove(k);
                } else {
                    k += 1;
                }
            }
            let prev = (g > 0).then(|| b[g - 1 - self.base]);
            let n = dfa.next_state(lv.start(prev), c);
            if !dfa.is_dead_state(n) && !self.live.iter().any(|(_, o)| *o == n) {
                self.live.push((g, n));
            }
        }
    }

    /// Releases what is final (everything when `finish`): the text range and its matches, both
    /// in global byte offsets.
    pub fn release(&mut self, finish: bool) -> Option<(usize, usize, Vec<Span>)> {
        let end = self.base + self.buf.len();
        let mut hold = end;
        if !finish {
            if let Some(s) = self.live.iter().map(|l| l.0).min() {
                hold = hold.min(s);
            }
            let b = self.buf.as_bytes();
            let from = self.released - self.base;
            let mut pos = from;
            while let Some(k) = memchr::memmem::find(&b[pos..], b"-----BEGIN") {
                let at = pos + k;
                if self.base + at >= hold {
                    break;
                }
                if self.rules.private_key_open(b, at) {
                    hold = self.base + at;
                    break;
                }
                pos = at + 1;
            }
        }
        while !self.buf.is_char_boundary(hold - self.base) {
            hold -= 1;
        }
        if hold <= self.released {
            return None;
        }
        let from = self.released - self.base;
        let spans = self.rules.scan_from(&self.buf, from);
        let mut p = hold - self.base;
        if let Some(s) = spans.iter().find(|s| s.start < p && s.end > p) {
            p = s.start;
        }
        if p <= from {
            return None;
        }
        let out: Vec<Span> = spans
            .into_iter()
            .filter(|s| s.end <= p)
            .map(|s| Span {
                kind: s.kind,
                start: s.start + self.base,
                end: s.end + self.base,
            })
            .collect();
        let range = (self.released, self.base + p);
        self.released = self.base + p;
        Some((range.0, range.1, out))
    }

    pub fn text(&self, a: usize, z: usize) -> &str {
        &self.buf[a - self.base..z - self.base]
    }

    /// Drops released text beyond the context the detectors may look back into.
    pub fn compact(&mut self) {
        let keep_from = self.released.saturating_sub(LEFT_CONTEXT).max(self.base);
        let mut cut = keep_from - self.base;
        while !self.buf.is_char_boundary(cut) {
            cut -= 1;
        }
        if cut > 0 {
            self.buf.drain(..cut);
            self.base += cut;
        }
    }
}

fn char_len(s: &str) -> usize {
    s.bytes().filter(|&c| (c & 0xC0) != 0x80).count()
}

/// A detection in Python character offsets of the whole stream (or text).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct CharMatch {
    pub kind: KindId,
    pub start: usize,
    pub end: usize,
}

/// Converts sorted, non-overlapping byte spans of `text` (offset by `base`) to character
/// offsets (offset by `char_base`).
pub fn to_chars(text: &str, base: usize, char_base: usize, spans: &[Span]) -> Vec<CharMatch> {
    if text.is_ascii() {
        return spans
            .iter()
            .map(|s| CharMatch {
                kind: s.kind,
                start: s.start - base + char_base,
                end: s.end - base + char_base,
            })
            .collect();
    }
    let mut out = Vec::with_capacity(spans.len());
    let (mut pos, mut chars) = (0usize, char_base);
    for s in spans {
        let (a, z) = (s.start - base, s.end - base);
        chars += char_len(&text[pos..a]);
        let start = chars;
        chars += char_len(&text[a..z]);
        pos = z;
        out.push(CharMatch {
            kind: s.kind,
            start,
            end: chars,
        });
    }
    out
}

pub struct StreamRedactor {
    scanner: StreamScanner,
    style: Style,
    select: Option<Vec<bool>>,
    numbering: Numbering,
    chars_released: usize,
    matches: Vec<CharMatch>,
    counts: Vec<u32>,
}

impl StreamRedactor {
    pub fn new(rules: &StreamRules, style: Style, select: Option<Vec<bool>>) -> CoreResult<Self> {
        let n = rules.rules.kinds.len();
        Ok(StreamRedactor {
            scanner: StreamScanner::new(rules)?,
            style,
            select,
            numbering: Numbering::default(),
            chars_released: 0,
            matches: Vec::new(),
            counts: vec![0; n],
        })
    }

    pub fn feed(&mut self, chunk: &str) -> String {
        self.scanner.push(chunk);
        self.emit(false)
    }

    pub fn finish(&mut self) -> String {
        let out = self.emit(true);
        self.scanner.live.clear();
        out
    }

    pub fn held_bytes(&self) -> usize {
        self.scanner.held_bytes()
    }

    pub fn take_matches(&mut self) -> Vec<CharMatch> {
        std::mem::take(&mut self.matches)
    }

    pub fn counts(&self) -> impl Iterator<Item = (KindId, u32)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0)
            .map(|(k, &c)| (k as KindId, c))
    }

    fn emit(&mut self, finish: bool) -> String {
        let mut out = String::new();
        if let Some((a, z, spans)) = self.scanner.release(finish) {
            let text = self.scanner.text(a, z);
            let select = &self.select;
            let mut r = Replacer {
                kinds: &self.scanner.rules.kinds,
                style: &self.style,
                numbering: &mut self.numbering,
            };
            r.apply(
                text,
                a,
                &spans,
                |k| select.as_ref().map_or(true, |s| s[k as usize]),
                &mut out,
            );
            for s in &spans {
                self.counts[s.kind as usize] += 1;
            }
            self.matches
                .extend(to_chars(text, a, self.chars_released, &spans));
            self.chars_released += char_len(text);
            self.scanner.compact();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Arc<RuleSet> {
        Arc::new(
            RuleSet::new(
                None,
                &[("ticket".into(), r"TCK-\d{4,8}\b".into())],
                &[("code".into(), vec!["Blue Falcon".into()])],
                &[],
            )
            .unwrap(),
        )
    }

    fn whole(r: &Arc<RuleSet>, text: &str) -> String {
        let spans = r.scan(text);
        let mut out = String::new();
        let mut n = Numbering::default();
        Replacer {
            kinds: &r.kinds,
            style: &Style::Placeholder,
            numbering: &mut n,
        }
        .apply(text, 0, &spans, |_| true, &mut out);
        out
    }

    fn streamed(r: &Arc<RuleSet>, parts: &[&str]) -> (String, Vec<String>) {
        let mut s = StreamRedactor::new(&StreamRules::new(Arc::clone(r)), Style::Placeholder, None)
            .unwrap();
        let mut out = String::new();
        let mut released = Vec::new();
        for p in parts {
            out.push_str(&s.feed(p));
            released.push(out.clone());
        }
        out.push_str(&s.finish());
        (out, released)
    }

    const TEXTS: &[&str] = &[
        "my key is sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z and mail a.b@ex.com, call +1 415-555-2671.",
        "token: a8F3kL9mQ2xZ7pW4 then AKIAIOSFODNN7EXAMPLE at 10.0.0.1 ok TCK-12345 Blue Falcon",
        "é😀 4111 1111 1111 1111 中文 DE89 3704 0044 0532 0130 00 fe80::1 ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADAN\nBgkq\n-----END PRIVATE KEY-----\nbye a@b.io",
        "x value=956c:c3d0:7e60:a1b9:8fed:b77c:702:8fa2 latency=565ms 4111-1111-1111-1111x",
        "use pal-0a1b2c3d4e5f--Xq3_vB9kLm2nOp5qRs8tUv1wXy4zAb7dEf0hIj3kL_, not pal-friendly \
         pat-9f8e7d6c5b4a-Xq3_vB9kLm2nOp5qRs8tUv1wXy4zAb7dEf0hIj3kLm6",
    ];

    fn assert_every_split(r: &Arc<RuleSet>, text: &str) {
        let want = whole(r, text);
        let cuts: Vec<usize> = (0..=text.len())
            .filter(|&i| text.is_char_boundary(i))
            .collect();
        for &i in &cuts {
            let (got, _) = streamed(r, &[&text[..i], &text[i..]]);
            assert_eq!(got, want, "split at {i} of {text:?}");
        }
        for &i in cuts.iter().step_by(3) {
            for &j in cuts.iter().filter(|&&j| j >= i).step_by(5) {
                let (got, _) = streamed(r, &[&text[..i], &text[i..j], &text[j..]]);
                assert_eq!(got, want, "split at {i},{j}");
            }
        }
        let chars: Vec<String> = text.chars().map(String::from).collect();
        let parts: Vec<&str> = chars.iter().map(String::as_str).collect();
        assert_eq!(streamed(r, &parts).0, want, "char by char");
    }

    #[test]
    fn every_split_equals_whole_text() {
        let r = rules();
        for text in TEXTS {
            assert_every_split(&r, text);
        }
    }

    #[test]
    fn own_credentials_stream_without_the_email_superset() {
        // With every kind on, the email pattern alone keeps any word live; with secrets only,
        // the credentials' own liveness patterns must hold them back.
        let r = Arc::new(RuleSet::new(Some(&["secrets".to_owned()]), &[], &[], &[]).unwrap());
        let text = TEXTS[5];
        assert_eq!(r.scan(text).len(), 2);
        assert_every_split(&r, text);
    }

    #[test]
    fn admin_tokens_split_across_chunks_are_held_back_and_caught() {
        let (admin, viewer) = ("s3cret-Admin-Token.42", "viewer.k4Wm+k4Wm/k4Wm");
        let tokens = [admin.to_owned(), viewer.to_owned()];
        for entities in [Some(vec!["secrets".to_owned()]), None] {
            let r = Arc::new(RuleSet::new(entities.as_deref(), &[], &[], &tokens).unwrap());
            let text = format!(
                "GET /a?t={admin}&v=1 then Bearer{viewer}, not {}",
                admin.to_uppercase()
            );
            assert_eq!(r.scan(&text).len(), 2, "{entities:?}");
            assert_every_split(&r, &text);
            let streams = StreamRules::new(Arc::clone(&r));
            // Every proper prefix of a token at the end of what has arrived is held back
            // (up to the longest token's length - 1 bytes), and nothing before it.
            for token in [admin, viewer] {
                for k in 1..token.len() {
                    let mut s = StreamRedactor::new(&streams, Style::Placeholder, None).unwrap();
                    let mut out = s.feed(&format!("see {}", &token[..k]));
                    if entities.is_some() {
                        assert_eq!(
                            (out.as_str(), s.held_bytes()),
                            ("see ", k),
                            "{token} at {k}"
                        );
                    }
                    out.push_str(&s.feed(&format!("{} ok", &token[k..])));
                    out.push_str(&s.finish());
                    assert_eq!(out, "see [PALISADE_ADMIN_TOKEN_1] ok", "{token} at {k}");
                }
            }
        }
    }

    #[test]
    fn an_admin_token_longer_than_the_usual_hold_is_still_held() {
        // Not periodic, as a real token is not: in "Zq8-Zq8-..." every 'Z' starts a prefix of
        // the token again, each a live start of its own, and 8 KiB of them make a slow test.
        let mut x = 7u32;
        let token: String = (0..MAX_HOLD + 400)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                char::from(
                    b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz23456789"
                        [(x >> 16) as usize % 55],
                )
            })
            .collect();
        let only = Some(vec!["palisade_admin_token".to_owned()]);
        let r = Arc::new(
            RuleSet::new(only.as_deref(), &[], &[], std::slice::from_ref(&token)).unwrap(),
        );
        let mut s =
            StreamRedactor::new(&StreamRules::new(Arc::clone(&r)), Style::Placeholder, None)
                .unwrap();
        let cut = token.len() - 3;
        assert_eq!(s.feed(&format!("a {}", &token[..cut])), "a ");
        assert_eq!(s.held_bytes(), cut);
        let out = s.feed(&format!("{} b", &token[cut..])) + &s.finish();
        assert_eq!(out, "[PALISADE_ADMIN_TOKEN_1] b");
    }

    #[test]
    fn clean_prose_is_released_up_to_the_last_word() {
        let r = rules();
        let mut s =
            StreamRedactor::new(&StreamRules::new(Arc::clone(&r)), Style::Placeholder, None)
                .unwrap();
        assert_eq!(s.feed("Hello there, how are "), "Hello there, how are ");
        assert_eq!(s.feed("you tod"), "you ");
        assert_eq!(s.held_bytes(), 3);
        assert_eq!(s.feed("ay? Mail me at bob"), "today? Mail me at ");
        assert_eq!(s.feed("@ex.org. Bye"), "[EMAIL_1]. ");
        assert_eq!(s.finish(), "Bye");
    }

    #[test]
    fn open_private_key_is_held() {
        let r = rules();
        let mut s =
            StreamRedactor::new(&StreamRules::new(Arc::clone(&r)), Style::Placeholder, None)
                .unwrap();
        let out = s.feed("x -----BEGIN RSA PRIVATE KEY-----\nMIIE abc def ghi ");
        assert_eq!(out, "x ");
        let out2 = s.feed("more text\n-----END RSA PRIVATE KEY----- tail ");
        assert_eq!(out2, "[PRIVATE_KEY_1] tail ");
    }
}
