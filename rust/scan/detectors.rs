//! The compiled rule set: built once from a config, shared (read-only) by every request.
//!
//! Every detector works on bytes at a candidate the prefilter found and returns byte spans. All
//! boundary checks look at ASCII bytes only, and no detector looks more than `LEFT_CONTEXT`
//! bytes before a match or more than two bytes past it: the streaming scanner relies on both.

use aho_corasick::{AhoCorasick, MatchKind};
use memchr::memmem;
use regex_automata::meta::Regex as MetaRegex;
use regex_automata::{Anchored, Input};
use std::collections::HashMap;

use super::kinds::*;
use super::prefilter::{Lit, Prefilter, T_AT, T_COLON, T_DASH, T_DIGIT, T_EQ};
use super::validators::*;
use crate::errors::{CoreError, CoreResult};

/// Longest private-key block (BEGIN through END) we look for; an 8192-bit RSA key in PEM is
/// about 6.5 KiB. A BEGIN line without an END within this many bytes is redacted up to the end
/// of its base64 body instead.
pub const PRIVATE_KEY_MAX: usize = 16 * 1024;
/// Longest JWT we accept; longer dot-separated base64url runs are not treated as tokens.
pub const JWT_MAX: usize = 8 * 1024;
/// Bytes before a candidate that detectors may inspect (email local part is at most 64).
pub const LEFT_CONTEXT: usize = 128;
const GENERIC_MIN: usize = 12;
const GENERIC_MAX: usize = 256;
const KEY_NAME_MAX: usize = 64;
/// Shortest admin token matched. The tokens are operator-chosen and have no shape, so they are
/// matched by their exact value: a short one ("letmein", "changeme") is an ordinary word, and
/// every text that used it would be redacted or blocked; 16 characters of a token meant to be
/// hard to guess do not turn up in text by chance.
const ADMIN_TOKEN_MIN: usize = 16;
/// Farthest an assignment's value can start after its separator: 2 separator bytes, 4 blanks,
/// a quote, "bearer " and 4 more blanks.
const ASSIGN_REACH: usize = 32;

pub struct CustomRegex {
    pub kind: KindId,
    pub regex: regex::Regex,
}

pub struct Keywords {
    pub ac: AhoCorasick,
    pub kind_of: Vec<KindId>,
    pub words: Vec<String>,
}

struct SecretRegexes {
    openai: MetaRegex,
    anthropic: MetaRegex,
    stripe: MetaRegex,
    aws_access: MetaRegex,
    google: MetaRegex,
    github: MetaRegex,
    github_pat: MetaRegex,
    slack: MetaRegex,
    slack_hook: MetaRegex,
    pk_header: MetaRegex,
    pk_footer: MetaRegex,
    jwt: MetaRegex,
    palisade: MetaRegex,
}

impl SecretRegexes {
    fn new() -> Self {
        let re = |p: &str| MetaRegex::new(p).expect("built-in pattern compiles");
        SecretRegexes {
            openai: re(r"sk-(?:(?:proj|svcacct|admin)-)?[A-Za-z0-9_-]{20,250}"),
            anthropic: re(r"sk-ant-[a-z]{2,10}[0-9]{2}-[A-Za-z0-9_-]{20,250}"),
            stripe: re(r"[rs]k_(?:live|test)_[A-Za-z0-9]{16,247}"),
            aws_access: re(r"(?:AKIA|ASIA)[A-Z0-9]{16}"),
            google: re(r"AIza[0-9A-Za-z_-]{35}"),
            github: re(r"gh[pousr]_[A-Za-z0-9]{36,251}"),
            github_pat: re(r"github_pat_[A-Za-z0-9_]{22,250}"),
            slack: re(r"xox[abposr]-[A-Za-z0-9-]{10,250}"),
            slack_hook: re(
                r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/+-]{20,250}",
            ),
            pk_header: re(r"-----BEGIN (?:[A-Z0-9]+ ){0,4}PRIVATE KEY(?: BLOCK)?-----"),
            pk_footer: re(r"-----END (?:[A-Z0-9]+ ){0,4}PRIVATE KEY(?: BLOCK)?-----"),
            jwt: re(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*"),
            // `<kind>-<12 hex id>-<secret>` (identity/credentials.py). The secret is 43
            // base64url characters today: a floor rather than that exact length keeps a longer
            // secret covered should the format grow, and 40 random characters after a hex id
            // are nothing prose produces.
            palisade: re(r"pa[lt]-[0-9a-f]{12}-[A-Za-z0-9_-]{40,250}"),
        }
    }
}

/// End of an anchored match of `re` starting exactly at `at`.
#[inline]
fn anchored_end(re: &MetaRegex, b: &[u8], at: usize) -> Option<usize> {
    let input = Input::new(b).range(at..).anchored(Anchored::Yes);
    re.search_half(&input).map(|m| m.offset())
}

#[inline]
fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}
#[inline]
fn is_token(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}
#[inline]
fn is_email_local(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'%' | b'+' | b'-')
}
#[inline]
fn is_v6(c: u8) -> bool {
    c.is_ascii_hexdigit() || c == b':' || c == b'.'
}
#[inline]
fn is_generic_value(c: u8) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            b'_' | b'-'
                | b'+'
                | b'/'
                | b'='
                | b'.'
                | b'~'
                | b'!'
                | b'@'
                | b'#'
                | b'$'
                | b'%'
                | b'^'
                | b'&'
                | b'*'
                | b'?'
        )
}
#[inline]
fn digit_run(b: &[u8], i: usize) -> usize {
    b[i.min(b.len())..]
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .count()
}

/// A number must not continue an alphanumeric token or a dotted/dashed number ("v1.2.3.4",
/// "ORD-555-123-4567", "12-555-123-4567", "12:30", "1,234"); CSV commas after a word are fine.
#[inline]
fn num_left_ok(b: &[u8], s: usize) -> bool {
    if s == 0 {
        return true;
    }
    let c = b[s - 1];
    if is_word(c) {
        return false;
    }
    let before = if s >= 2 { b[s - 2] } else { b' ' };
    match c {
        b'-' | b'.' | b'/' | b'#' => !before.is_ascii_alphanumeric(),
        b':' | b',' => !before.is_ascii_digit(),
        _ => true,
    }
}

#[inline]
fn num_right_ok(b: &[u8], e: usize) -> bool {
    if e >= b.len() {
        return true;
    }
    let c = b[e];
    if is_word(c) {
        return false;
    }
    let after = b.get(e + 1).copied().unwrap_or(b' ');
    match c {
        b'-' | b'.' | b'/' | b'#' => !after.is_ascii_alphanumeric(),
        b':' => !after.is_ascii_digit(),
        _ => true,
    }
}

pub struct RuleSet {
    pub kinds: Vec<KindInfo>,
    pub on: [bool; N_BUILTIN],
    prefilter: Prefilter,
    re: SecretRegexes,
    pub custom: Vec<CustomRegex>,
    pub keywords: Option<Keywords>,
    /// One exact finder per admin token (see `RuleSet::new`), empty when the kind is off.
    admin_tokens: Vec<memmem::Finder<'static>>,
}

impl RuleSet {
    /// `admin_tokens` are the gateway's admin API tokens, reported as the built-in kind
    /// `palisade_admin_token`. They have no shape, so each is found by its exact bytes, with one
    /// `memmem` finder per token built here, once:
    /// - not through the keyword automaton: its ASCII case folding cost ~1.5 ns per byte of
    ///   every text once any token was configured (a 1 KiB scan 4.5x slower); a finder costs
    ///   ~0.1 ns per byte;
    /// - case-sensitive: a token is a byte string and the admin API compares it byte for byte,
    ///   so a case-folded variant is not the secret (and opens nothing);
    /// - without a word-boundary rule: a token has 16 or more hard-to-guess characters, so any
    ///   occurrence of its bytes is the secret itself, whatever it is glued to (`?t=<token>&`,
    ///   `Bearer<token>`, a JSON string), and a boundary rule would only let such copies out;
    /// - on UTF-8 character boundaries by construction: token and text are both valid UTF-8.
    pub fn new(
        entities: Option<&[String]>,
        custom_patterns: &[(String, String)],
        keywords: &[(String, Vec<String>)],
        admin_tokens: &[String],
    ) -> CoreResult<Self> {
        let mut kinds: Vec<KindInfo> = BUILTINS
            .iter()
            .map(|(n, c, p)| KindInfo::new(n, *c, *p))
            .collect();
        let mut on = [entities.is_none(); N_BUILTIN];
        for name in entities.unwrap_or(&[]) {
            match name.as_str() {
                "pii" | "secret" | "secrets" => {
                    let cat = if name == "pii" {
                        Category::Pii
                    } else {
                        Category::Secret
                    };
                    for (i, b) in BUILTINS.iter().enumerate() {
                        on[i] |= b.1 == cat;
                    }
                }
                other => match BUILTINS.iter().position(|b| b.0 == other) {
                    Some(i) => on[i] = true,
                    None => {
                        let known: Vec<&str> = BUILTINS.iter().map(|b| b.0).collect();
                        return Err(CoreError::InvalidInput(format!(
                            "unknown entity type {other:?}; known: pii, secrets, {}",
                            known.join(", ")
                        )));
                    }
                },
            }
        }
        let mut seen: HashMap<String, ()> = kinds.iter().map(|k| (k.name.clone(), ())).collect();
        let mut add_kind = |name: &str, what: &str| -> CoreResult<KindId> {
            let valid = !name.is_empty()
                && name.len() <= 64
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
            if !valid {
                return Err(CoreError::InvalidInput(format!(
                    "{what} name {name:?} must be 1-64 characters of letters, digits, '_', '-', '.'"
                )));
            }
            if seen.insert(name.to_owned(), ()).is_some() {
                return Err(CoreError::InvalidInput(format!(
                    "{what} name {name:?} is already used"
                )));
            }
            kinds.push(KindInfo::new(name, Category::Custom, CUSTOM_PRIORITY));
            Ok((kinds.len() - 1) as KindId)
        };
        let mut custom = Vec::new();
        for (name, pattern) in custom_patterns {
            let kind = add_kind(name, "custom pattern")?;
            let regex = regex::Regex::new(pattern).map_err(|e| {
                CoreError::InvalidInput(format!(
                    "custom pattern {name:?} is not a valid regular expression: {e}"
                ))
            })?;
            custom.push(CustomRegex { kind, regex });
        }
        let mut tokens: Vec<&str> = if on[PALISADE_ADMIN_TOKEN as usize] {
            admin_tokens
                .iter()
                .map(String::as_str)
                .filter(|t| t.chars().count() >= ADMIN_TOKEN_MIN)
                .collect()
        } else {
            Vec::new()
        };
        tokens.sort_unstable();
        tokens.dedup();
        let admin_tokens = tokens
            .into_iter()
            .map(|t| memmem::Finder::new(t.as_bytes()).into_owned())
            .collect();
        let mut words: Vec<&str> = Vec::new();
        let mut kind_of = Vec::new();
        for (name, list) in keywords {
            let kind = add_kind(name, "keyword list")?;
            for w in list {
                if w.trim().is_empty() {
                    return Err(CoreError::InvalidInput(format!(
                        "keyword list {name:?} contains an empty keyword"
                    )));
                }
                words.push(w.as_str());
                kind_of.push(kind);
            }
        }
        let keywords = if words.is_empty() {
            None
        } else {
            let ac = AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::LeftmostLongest)
                .build(&words)
                .map_err(|e| {
                    CoreError::InvalidInput(format!("keyword lists cannot be compiled: {e}"))
                })?;
            Some(Keywords {
                ac,
                kind_of,
                words: words.iter().map(|w| (*w).to_owned()).collect(),
            })
        };
        Ok(RuleSet {
            kinds,
            on,
            prefilter: Prefilter::new(&on),
            re: SecretRegexes::new(),
            custom,
            keywords,
            admin_tokens,
        })
    }

    pub fn enabled_names(&self) -> Vec<&str> {
        let builtin = BUILTINS
            .iter()
            .enumerate()
            .filter(|(i, _)| self.on[*i])
            .map(|(_, b)| b.0);
        builtin
            .chain(self.kinds[N_BUILTIN..].iter().map(|k| k.name.as_str()))
            .collect()
    }

    pub fn keyword_text(&self, i: usize) -> String {
        self.keywords
            .as_ref()
            .map(|k| k.words[i].clone())
            .unwrap_or_default()
    }

    /// The admin tokens that are matched (for the streaming liveness automaton).
    pub fn admin_tokens(&self) -> impl Iterator<Item = &str> + '_ {
        self.admin_tokens
            .iter()
            .map(|f| std::str::from_utf8(f.needle()).expect("built from a &str in RuleSet::new"))
    }

    pub fn kind_id(&self, name: &str) -> Option<KindId> {
        self.kinds
            .iter()
            .position(|k| k.name == name)
            .map(|i| i as KindId)
    }

    /// Merged detections over the whole text.
    pub fn scan(&self, text: &str) -> Vec<Span> {
        self.scan_from(text, 0)
    }

    /// Merged detections that start at or after byte `from`; `text[..from]` is context only.
    pub fn scan_from(&self, text: &str, from: usize) -> Vec<Span> {
        let b = text.as_bytes();
        let mut raw: Vec<Span> = Vec::new();
        let push = |raw: &mut Vec<Span>, kind: KindId, start: usize, end: usize| {
            if start >= from && end > start && self.on_or_custom(kind) {
                raw.push(Span { kind, start, end });
            }
        };
        if let Some(ac) = &self.prefilter.literals {
            for m in ac.find_iter(&b[from..]) {
                let at = from + m.start();
                if let Some((kind, end)) =
                    self.literal_at(b, at, self.prefilter.lit_kind[m.pattern().as_usize()])
                {
                    push(&mut raw, kind, at, end);
                }
            }
        }
        let mut num_skip = 0usize;
        let mut colon_skip = 0usize;
        // Triggers are scanned from a little before `from`: an assignment's value (which may
        // start at `from`) sits up to ASSIGN_REACH bytes after its ':' or '='.
        let mut trig_from = from.saturating_sub(ASSIGN_REACH);
        while !text.is_char_boundary(trig_from) {
            trig_from -= 1;
        }
        self.prefilter.for_each_trigger(b, trig_from, |i, bits| {
            if bits & T_DIGIT != 0 && i >= num_skip && (i == 0 || !b[i - 1].is_ascii_digit()) {
                let before = raw.len();
                self.numeric_at(b, i, &mut raw);
                let found = &mut raw[before..];
                if let Some(end) = found.iter().map(|s| s.end).max() {
                    num_skip = end;
                }
                // Candidates that start in the context region are dropped; they must not move
                // the skip point either (the whole-text scan saw them with their full context).
                if found.iter().any(|s| s.start < from) {
                    num_skip = 0;
                    raw.retain(|s| s.start >= from);
                }
            } else if bits & T_AT != 0 {
                if let Some((s, e)) = email_at(b, i) {
                    push(&mut raw, EMAIL, s, e);
                }
            } else if bits & (T_COLON | T_EQ) != 0 {
                if bits & T_COLON != 0 && self.on[IP_ADDRESS as usize] && i >= colon_skip {
                    let (hit, skip) = ipv6_at(b, i);
                    colon_skip = skip;
                    if let Some((s, e)) = hit {
                        push(&mut raw, IP_ADDRESS, s, e);
                    }
                }
                if let Some((kind, s, e)) = self.assignment_at(b, i) {
                    push(&mut raw, kind, s, e);
                }
            } else if bits & T_DASH != 0 && i >= 3 && matches!(&b[i - 3..i], b"pal" | b"pat") {
                if let Some((kind, e)) = self.literal_at(b, i - 3, Lit::Palisade) {
                    push(&mut raw, kind, i - 3, e);
                }
            }
        });
        for c in &self.custom {
            let mut at = from;
            while at <= b.len() {
                let Some(m) = c.regex.find_at(text, at) else {
                    break;
                };
                if m.end() > m.start() {
                    raw.push(Span {
                        kind: c.kind,
                        start: m.start(),
                        end: m.end(),
                    });
                    at = m.end();
                } else {
                    // An empty match: step one character so the search always advances.
                    at = m.end() + text[m.end()..].chars().next().map_or(1, char::len_utf8);
                }
            }
        }
        for f in &self.admin_tokens {
            let n = f.needle().len();
            let mut at = from;
            while let Some(k) = f.find(&b[at..]) {
                // Overlapping occurrences too (a periodic token): the merged span is their
                // union, so no piece of a copy is left over.
                push(&mut raw, PALISADE_ADMIN_TOKEN, at + k, at + k + n);
                at += k + 1;
            }
        }
        if let Some(kw) = &self.keywords {
            for m in kw.ac.find_iter(&b[from..]) {
                let (s, e) = (from + m.start(), from + m.end());
                let before_ok = text[..s]
                    .chars()
                    .next_back()
                    .map_or(true, |c| !c.is_alphanumeric() && c != '_');
                let after_ok = text
                    .get(e..)
                    .and_then(|t| t.chars().next())
                    .map_or(true, |c| !c.is_alphanumeric() && c != '_');
                if before_ok && after_ok && text.is_char_boundary(s) && text.is_char_boundary(e) {
                    raw.push(Span {
                        kind: kw.kind_of[m.pattern().as_usize()],
                        start: s,
                        end: e,
                    });
                }
            }
        }
        merge(raw, &self.kinds)
    }

    #[inline]
    fn on_or_custom(&self, kind: KindId) -> bool {
        (kind as usize) >= N_BUILTIN || self.on[kind as usize]
    }

    fn literal_at(&self, b: &[u8], at: usize, lit: Lit) -> Option<(KindId, usize)> {
        let r = &self.re;
        // A secret never continues a longer identifier ("task-sk-...", "MYAKIA...").
        if at > 0 && is_token(b[at - 1]) && lit != Lit::PrivateKey {
            return None;
        }
        let tail_ok = |e: usize| e >= b.len() || !is_token(b[e]);
        match lit {
            Lit::Sk => {
                if b[at..].starts_with(b"sk-ant-") {
                    if !self.on[ANTHROPIC_API_KEY as usize] {
                        return None;
                    }
                    let e = anchored_end(&r.anthropic, b, at)?;
                    return tail_ok(e).then_some((ANTHROPIC_API_KEY, e));
                }
                if !self.on[OPENAI_API_KEY as usize] {
                    return None;
                }
                let e = anchored_end(&r.openai, b, at)?;
                let body = &b[at + 3..e];
                let mixed = body.iter().any(u8::is_ascii_digit)
                    && body.iter().any(u8::is_ascii_uppercase)
                    && body.iter().any(u8::is_ascii_lowercase);
                (tail_ok(e) && (mixed || memmem::find(body, b"T3BlbkFJ").is_some()))
                    .then_some((OPENAI_API_KEY, e))
            }
            Lit::Stripe => {
                let e = anchored_end(&r.stripe, b, at)?;
                let body = &b[at + 8..e];
                let random = body.iter().any(u8::is_ascii_digit)
                    || (body.iter().any(u8::is_ascii_uppercase)
                        && body.iter().any(u8::is_ascii_lowercase));
                (tail_ok(e) && random).then_some((STRIPE_KEY, e))
            }
            Lit::AwsAccess => {
                let e = anchored_end(&r.aws_access, b, at)?;
                (e >= b.len() || !b[e].is_ascii_alphanumeric()).then_some((AWS_ACCESS_KEY, e))
            }
            Lit::Google => {
                let e = anchored_end(&r.google, b, at)?;
                tail_ok(e).then_some((GOOGLE_API_KEY, e))
            }
            Lit::Github => {
                let e = anchored_end(&r.github, b, at)?;
                tail_ok(e).then_some((GITHUB_TOKEN, e))
            }
            Lit::GithubPat => {
                let e = anchored_end(&r.github_pat, b, at)?;
                tail_ok(e).then_some((GITHUB_TOKEN, e))
            }
            Lit::Slack => {
                let e = anchored_end(&r.slack, b, at)?;
                (tail_ok(e) && b[at..e].iter().any(u8::is_ascii_digit)).then_some((SLACK_TOKEN, e))
            }
            Lit::SlackHook => {
                let e = anchored_end(&r.slack_hook, b, at)?;
                tail_ok(e).then_some((SLACK_TOKEN, e))
            }
            Lit::PrivateKey => match self.private_key_at(b, at) {
                PrivateKeyAt::Block(e) => Some((PRIVATE_KEY, e)),
                PrivateKeyAt::NotAKey => None,
            },
            Lit::Jwt => {
                let e = anchored_end(&r.jwt, b, at)?;
                let dot = at + memchr::memchr(b'.', &b[at..e])?;
                (e - at <= JWT_MAX && tail_ok(e) && jwt_header_ok(&b[at..dot])).then_some((JWT, e))
            }
            Lit::Palisade => {
                let kind = if b[at + 2] == b'l' {
                    PALISADE_VIRTUAL_KEY
                } else {
                    PALISADE_ACCESS_TOKEN
                };
                let e = anchored_end(&r.palisade, b, at)?;
                tail_ok(e).then_some((kind, e))
            }
        }
    }

    /// The header must name a private key; the block runs to a matching END line within
    /// `PRIVATE_KEY_MAX` bytes, or else to the end of the base64 body that follows the header.
    pub fn private_key_at(&self, b: &[u8], at: usize) -> PrivateKeyAt {
        let Some(hdr_end) = anchored_end(&self.re.pk_header, b, at) else {
            return PrivateKeyAt::NotAKey;
        };
        if let Some(e) = self.private_key_footer(b, at, hdr_end) {
            return PrivateKeyAt::Block(e);
        }
        let limit = b.len().min(at + PRIVATE_KEY_MAX);
        let body = b[hdr_end..limit]
            .iter()
            .take_while(|&&c| {
                c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'=' | b'\\' | b'\r' | b'\n')
            })
            .count();
        PrivateKeyAt::Block(hdr_end + body)
    }

    pub fn private_key_footer(&self, b: &[u8], at: usize, hdr_end: usize) -> Option<usize> {
        let limit = b.len().min(at + PRIVATE_KEY_MAX);
        let mut pos = hdr_end;
        while let Some(k) = memmem::find(&b[pos..limit], b"-----END") {
            let f = pos + k;
            if let Some(e) = anchored_end(&self.re.pk_footer, &b[..limit], f) {
                return Some(e);
            }
            pos = f + 1;
        }
        None
    }

    /// Whether a private-key header at `at` is complete but its block could still end later:
    /// the streaming scanner must hold it back.
    pub fn private_key_open(&self, b: &[u8], at: usize) -> bool {
        match anchored_end(&self.re.pk_header, b, at) {
            Some(h) => {
                at + PRIVATE_KEY_MAX > b.len() && self.private_key_footer(b, at, h).is_none()
            }
            None => false,
        }
    }

    fn numeric_at(&self, b: &[u8], p: usize, raw: &mut Vec<Span>) {
        let on = &self.on;
        let run = digit_run(b, p);
        if on[IBAN as usize]
            && p >= 2
            && run >= 2
            && b[p - 2].is_ascii_uppercase()
            && b[p - 1].is_ascii_uppercase()
        {
            if let Some(e) = iban_at(b, p - 2) {
                raw.push(Span {
                    kind: IBAN,
                    start: p - 2,
                    end: e,
                });
                return;
            }
        }
        if on[PHONE as usize] && p >= 1 && matches!(b[p - 1], b'+' | b'(') && num_left_ok(b, p - 1)
        {
            let e = nanp_at(b, p - 1).or_else(|| {
                if b[p - 1] == b'+' {
                    intl_at(b, p - 1)
                } else {
                    None
                }
            });
            if let Some(e) = e {
                raw.push(Span {
                    kind: PHONE,
                    start: p - 1,
                    end: e,
                });
                return;
            }
        }
        if !num_left_ok(b, p) {
            return;
        }
        if on[IP_ADDRESS as usize] && run <= 3 {
            if let Some(n) = ipv4_at(b, p) {
                let e = p + n;
                let right = e >= b.len()
                    || !(is_word(b[e])
                        || (b[e] == b'.' && b.get(e + 1).is_some_and(u8::is_ascii_digit)));
                if right {
                    raw.push(Span {
                        kind: IP_ADDRESS,
                        start: p,
                        end: e,
                    });
                    return;
                }
            }
        }
        if on[US_SSN as usize] && run == 3 {
            if let Some(e) = ssn_at(b, p) {
                raw.push(Span {
                    kind: US_SSN,
                    start: p,
                    end: e,
                });
                return;
            }
        }
        if on[CREDIT_CARD as usize] && (run == 4 || (13..=19).contains(&run)) {
            if let Some(e) = card_at(b, p, run) {
                raw.push(Span {
                    kind: CREDIT_CARD,
                    start: p,
                    end: e,
                });
                return;
            }
        }
        if on[PHONE as usize] && (run == 3 || run == 1) {
            if let Some(e) = nanp_at(b, p) {
                raw.push(Span {
                    kind: PHONE,
                    start: p,
                    end: e,
                });
            }
        }
    }

    /// `key: value` / `key = value` where the key names a secret: the value is the match.
    fn assignment_at(&self, b: &[u8], i: usize) -> Option<(KindId, usize, usize)> {
        let generic = self.on[GENERIC_SECRET as usize];
        let aws = self.on[AWS_SECRET_KEY as usize];
        if !generic && !aws {
            return None;
        }
        let prev = if i > 0 { b[i - 1] } else { 0 };
        if b[i] == b'=' && matches!(prev, b'=' | b':' | b'!' | b'<' | b'>') {
            return None;
        }
        if b[i] == b':' && b.get(i + 1) == Some(&b':') {
            return None;
        }
        let mut k = i;
        let mut n = 0;
        while k > 0 && matches!(b[k - 1], b' ' | b'\t') && n < 4 {
            k -= 1;
            n += 1;
        }
        if k > 0 && matches!(b[k - 1], b'"' | b'\'' | b'`') {
            k -= 1;
        }
        let name_end = k;
        while k > 0
            && (is_word(b[k - 1]) || matches!(b[k - 1], b'.' | b'-'))
            && name_end - k < KEY_NAME_MAX
        {
            k -= 1;
        }
        if k == name_end {
            return None;
        }
        let mut name = [0u8; KEY_NAME_MAX];
        let name = {
            let src = &b[k..name_end];
            for (d, s) in name.iter_mut().zip(src) {
                *d = s.to_ascii_lowercase();
            }
            &name[..src.len()]
        };
        if !key_like(name) {
            return None;
        }
        let mut v = i + 1;
        let mut n = 0;
        while v < b.len() && matches!(b[v], b':' | b'=' | b'>') && n < 2 {
            v += 1;
            n += 1;
        }
        let mut n = 0;
        while v < b.len() && matches!(b[v], b' ' | b'\t') && n < 4 {
            v += 1;
            n += 1;
        }
        if v < b.len() && matches!(b[v], b'"' | b'\'' | b'`') {
            v += 1;
        }
        for scheme in [&b"bearer "[..], b"basic ", b"token "] {
            if b.len() >= v + scheme.len() && b[v..v + scheme.len()].eq_ignore_ascii_case(scheme) {
                v += scheme.len();
                let mut n = 0;
                while v < b.len() && b[v] == b' ' && n < 4 {
                    v += 1;
                    n += 1;
                }
                break;
            }
        }
        let run = b[v.min(b.len())..]
            .iter()
            .take(GENERIC_MAX + 1)
            .take_while(|&&c| is_generic_value(c))
            .count();
        if run > GENERIC_MAX {
            return None;
        }
        let mut e = v + run;
        while e > v && b[e - 1] == b'.' {
            e -= 1;
        }
        let val = &b[v..e];
        let b64 = b[v..]
            .iter()
            .take(41)
            .take_while(|&&c| c.is_ascii_alphanumeric() || c == b'/' || c == b'+')
            .count();
        if aws
            && b64 == 40
            && b.get(v + 40) != Some(&b'=')
            && contains(name, b"secret")
            && (contains(name, b"aws") || contains(name, b"access"))
        {
            return Some((AWS_SECRET_KEY, v, v + 40));
        }
        if aws
            && val.len() == 40
            && contains(name, b"secret")
            && (contains(name, b"aws") || contains(name, b"access"))
            && val
                .iter()
                .all(|&c| c.is_ascii_alphanumeric() || c == b'/' || c == b'+')
        {
            return Some((AWS_SECRET_KEY, v, e));
        }
        (generic && secret_like(val)).then_some((GENERIC_SECRET, v, e))
    }
}

pub enum PrivateKeyAt {
    Block(usize),
    NotAKey,
}

fn contains(h: &[u8], n: &[u8]) -> bool {
    memmem::find(h, n).is_some()
}

/// Lower-cased identifier names that announce a secret value.
pub const KEY_WORDS: [&str; 12] = [
    "secret",
    "token",
    "passw",
    "pwd",
    "auth",
    "credential",
    "apikey",
    "api_key",
    "api-key",
    "accesskey",
    "access_key",
    "privatekey",
];

fn key_like(name: &[u8]) -> bool {
    KEY_WORDS.iter().any(|w| contains(name, w.as_bytes()))
        || name == b"key"
        || name.ends_with(b"_key")
        || name.ends_with(b"-key")
        || name.ends_with(b".key")
}

/// A value worth calling a secret: long enough, not an obvious placeholder or identifier, and
/// random-looking (Shannon entropy) with at least two character classes.
fn secret_like(v: &[u8]) -> bool {
    if v.len() < GENERIC_MIN || v.len() > GENERIC_MAX {
        return false;
    }
    if matches!(v[0], b'$' | b'%' | b'<' | b'{')
        || contains(v, b"...")
        || contains(v, b"xxxx")
        || contains(v, b"XXXX")
    {
        return false;
    }
    let lower = v.iter().any(u8::is_ascii_lowercase) as u8;
    let upper = v.iter().any(u8::is_ascii_uppercase) as u8;
    let digit = v.iter().any(u8::is_ascii_digit);
    let symbol = v.iter().any(|c| !c.is_ascii_alphanumeric()) as u8;
    let classes = lower + upper + digit as u8 + symbol;
    classes >= 2 && (digit || classes >= 3) && shannon_entropy(v) >= 3.0
}

pub fn email_at(b: &[u8], at: usize) -> Option<(usize, usize)> {
    let mut s = at;
    while s > 0 && is_email_local(b[s - 1]) {
        s -= 1;
        if at - s > 64 {
            return None;
        }
    }
    while s < at && !(b[s].is_ascii_alphanumeric() || b[s] == b'_') {
        s += 1;
    }
    if s == at {
        return None;
    }
    let mut i = at + 1;
    let mut labels = 0;
    let mut last;
    loop {
        let l = i;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'-') {
            i += 1;
        }
        if i == l || b[l] == b'-' || b[i - 1] == b'-' || i - l > 63 {
            return None;
        }
        labels += 1;
        last = (l, i);
        if i + 1 < b.len() && b[i] == b'.' && b[i + 1].is_ascii_alphanumeric() {
            i += 1;
        } else {
            break;
        }
    }
    let tld = &b[last.0..last.1];
    if labels < 2
        || tld.len() < 2
        || tld.len() > 24
        || !tld.iter().all(u8::is_ascii_alphabetic)
        || i - at > 254
    {
        return None;
    }
    if i < b.len() && matches!(b[i], b'_' | b'@') {
        return None;
    }
    Some((s, i))
}

/// Returns the hit (if any) and the position up to which further ':' triggers are redundant.
pub fn ipv6_at(b: &[u8], c: usize) -> (Option<(usize, usize)>, usize) {
    let prev_ok = c > 0 && is_v6(b[c - 1]);
    let next_ok = c + 1 < b.len() && is_v6(b[c + 1]);
    if !prev_ok && !next_ok {
        return (None, c + 1);
    }
    let mut s = c;
    while s > 0 && is_v6(b[s - 1]) {
        s -= 1;
        if c - s > 46 {
            return (None, c + 1);
        }
    }
    let mut e = c + 1;
    while e < b.len() && is_v6(b[e]) {
        e += 1;
        if e - s > 48 {
            return (None, e);
        }
    }
    let skip = e;
    if s > 0 && is_word(b[s - 1]) {
        return (None, skip);
    }
    while e > s && b[e - 1] == b'.' {
        e -= 1;
    }
    if e - s >= 2 && b[e - 1] == b':' && b[e - 2] != b':' {
        e -= 1;
    }
    if e < b.len() && is_word(b[e]) {
        return (None, skip);
    }
    let tok = &b[s..e];
    let colons = tok.iter().filter(|&&c| c == b':').count();
    if colons < 2 || !tok.iter().any(u8::is_ascii_digit) || !ipv6_ok(tok) {
        return (None, skip);
    }
    (Some((s, e)), skip)
}

fn ssn_at(b: &[u8], p: usize) -> Option<usize> {
    let g = |i: usize, n: usize| -> Option<u16> {
        let s = b.get(i..i + n)?;
        s.iter()
            .all(u8::is_ascii_digit)
            .then(|| s.iter().fold(0u16, |a, d| a * 10 + u16::from(d - b'0')))
    };
    if b.get(p + 3) != Some(&b'-') || b.get(p + 6) != Some(&b'-') {
        return None;
    }
    let (area, group, serial) = (g(p, 3)?, g(p + 4, 2)?, g(p + 7, 4)?);
    let e = p + 11;
    (digit_run(b, p + 7) == 4 && num_right_ok(b, e) && ssn_ok(area, group, serial)).then_some(e)
}

fn card_at(b: &[u8], p: usize, run: usize) -> Option<usize> {
    let mut digits = [0u8; 19];
    let mut n = 0;
    let e;
    if run >= 13 {
        if run > 19 {
            return None;
        }
        digits[..run].copy_from_slice(&b[p..p + run]);
        n = run;
        e = p + run;
    } else {
        let sep = *b.get(p + 4)?;
        if sep != b' ' && sep != b'-' {
            return None;
        }
        let mut i = p;
        let mut groups = 0;
        loop {
            let r = digit_run(b, i);
            if n + r > 19 || r > 6 || (groups == 0 && r != 4) {
                return None;
            }
            digits[n..n + r].copy_from_slice(&b[i..i + r]);
            n += r;
            i += r;
            groups += 1;
            if i + 1 < b.len() && b[i] == sep && b[i + 1].is_ascii_digit() {
                i += 1;
            } else {
                break;
            }
        }
        if groups < 3 {
            return None;
        }
        e = i;
    }
    let d = &digits[..n];
    ((13..=19).contains(&n) && num_right_ok(b, e) && luhn(d) && card_iin_ok(d)).then_some(e)
}

#[inline]
fn is_phone_sep(c: u8) -> bool {
    matches!(c, b' ' | b'.' | b'-')
}

/// NANP: optional +1 / 1, area code (optionally parenthesised), exchange, line, with
/// separators (a bare 10-digit run is an order number far more often than a phone number),
/// optional extension.
fn nanp_at(b: &[u8], s: usize) -> Option<usize> {
    let at = |i: usize| b.get(i).copied().unwrap_or(0);
    let digits3 = |i: usize| {
        b.get(i..i + 3)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    };
    let mut i = s;
    if at(i) == b'+' {
        if at(i + 1) != b'1' {
            return None;
        }
        i += 2;
        if is_phone_sep(at(i)) {
            i += 1;
        }
    } else if at(i) == b'1' && is_phone_sep(at(i + 1)) {
        i += 2;
    }
    let area;
    if at(i) == b'(' {
        if !digits3(i + 1) || at(i + 4) != b')' {
            return None;
        }
        area = at(i + 1);
        i += 5;
        if is_phone_sep(at(i)) {
            i += 1;
        }
    } else {
        if !digits3(i) || !is_phone_sep(at(i + 3)) {
            return None;
        }
        area = at(i);
        i += 4;
    }
    if !digits3(i) || !is_phone_sep(at(i + 3)) {
        return None;
    }
    let exchange = at(i);
    i += 4;
    if digit_run(b, i) != 4 {
        return None;
    }
    i += 4;
    if area < b'2' || exchange < b'2' {
        return None;
    }
    // Extension: "x123", " ext. 123", " #12".
    let mut j = i;
    if at(j) == b' ' {
        j += 1;
    }
    let ext_len = if at(j) == b'x' || at(j) == b'#' {
        1
    } else if b.len() >= j + 3 && b[j..j + 3].eq_ignore_ascii_case(b"ext") {
        if at(j + 3) == b'.' {
            4
        } else {
            3
        }
    } else {
        0
    };
    if ext_len > 0 {
        let mut k = j + ext_len;
        if at(k) == b' ' {
            k += 1;
        }
        let r = digit_run(b, k);
        if (1..=6).contains(&r) && num_right_ok(b, k + r) {
            return Some(k + r);
        }
    }
    num_right_ok(b, i).then_some(i)
}

/// International: '+', country code, groups of digits (a group may be parenthesised, e.g. a
/// trunk "(0)"), single separators, 8-15 digits in all (E.164).
fn intl_at(b: &[u8], s: usize) -> Option<usize> {
    let at = |i: usize| b.get(i).copied().unwrap_or(0);
    if at(s) != b'+' || !(b'1'..=b'9').contains(&at(s + 1)) {
        return None;
    }
    let mut i = s + 1;
    let mut total = 0;
    loop {
        if at(i) == b'(' {
            let r = digit_run(b, i + 1);
            if r == 0 || r > 4 || at(i + 1 + r) != b')' {
                break;
            }
            total += r;
            i += r + 2;
        } else {
            let r = digit_run(b, i);
            if r == 0 {
                break;
            }
            total += r;
            i += r;
        }
        if total > 15 {
            return None;
        }
        if is_phone_sep(at(i)) && (at(i + 1).is_ascii_digit() || at(i + 1) == b'(') {
            i += 1;
        } else if at(i) != b'(' && !at(i).is_ascii_digit() {
            break;
        }
    }
    ((8..=15).contains(&total) && num_right_ok(b, i)).then_some(i)
}

/// Compact or space-grouped IBAN of the exact length for its country.
fn iban_at(b: &[u8], s: usize) -> Option<usize> {
    if s > 0 && b[s - 1].is_ascii_alphanumeric() {
        return None;
    }
    let len = iban_length(&b[s..s + 2])?;
    let mut compact = [0u8; 34];
    let mut n = 0;
    let mut i = s;
    while n < len {
        let c = *b.get(i)?;
        if c.is_ascii_uppercase() || c.is_ascii_digit() {
            compact[n] = c;
            n += 1;
            i += 1;
        } else if c == b' '
            && n % 4 == 0
            && n > 0
            && b.get(i + 1).is_some_and(u8::is_ascii_alphanumeric)
        {
            i += 1;
        } else {
            return None;
        }
    }
    (num_right_ok(b, i) && iban_ok(&compact[..n])).then_some(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rs() -> RuleSet {
        RuleSet::new(None, &[], &[], &[]).unwrap()
    }

    fn found(text: &str) -> Vec<(String, String)> {
        let r = rs();
        r.scan(text)
            .into_iter()
            .map(|s| {
                (
                    r.kinds[s.kind as usize].name.clone(),
                    text[s.start..s.end].to_owned(),
                )
            })
            .collect()
    }

    fn one(text: &str, kind: &str, value: &str) {
        assert_eq!(
            found(text),
            vec![(kind.to_owned(), value.to_owned())],
            "in {text:?}"
        );
    }

    #[test]
    fn emails() {
        one(
            "mail john.doe+tag@mail.example.co.uk.",
            "email",
            "john.doe+tag@mail.example.co.uk",
        );
        one(
            "<a href=\"mailto:x_y@ex-ample.io\">",
            "email",
            "x_y@ex-ample.io",
        );
        assert!(found("@decorator and user@localhost and a@b.c1").is_empty());
    }

    #[test]
    fn phones() {
        for p in [
            "(415) 555-2671",
            "415-555-2671",
            "415.555.2671",
            "+1 415 555 2671",
            "+1-415-555-2671",
            "1-415-555-2671",
            "415-555-2671 x1234",
            "+44 20 7946 0958",
            "+14155552671",
            "+49 (0)30 1234567",
        ] {
            one(&format!("call {p} now"), "phone", p);
        }
        for not in [
            "4155552671",
            "115-555-2671",
            "2023-01-15 12:30:45",
            "v4.15.555.2671",
            "ORD-415-555-2671",
            "415-555-26710",
        ] {
            assert!(found(&format!("x {not} y")).is_empty(), "{not}");
        }
    }

    #[test]
    fn cards_ssn_iban_ip() {
        one(
            "card 4111 1111 1111 1111 exp",
            "credit_card",
            "4111 1111 1111 1111",
        );
        one(
            "card 4111-1111-1111-1111.",
            "credit_card",
            "4111-1111-1111-1111",
        );
        one("amex 3782 822463 10005", "credit_card", "3782 822463 10005");
        one("n=4111111111111111", "credit_card", "4111111111111111");
        assert!(found("order 4111111111111112 and 1234 5678 9012 3456 7890").is_empty());
        one("ssn 536-22-1234", "us_ssn", "536-22-1234");
        assert!(found("ssn 078-05-1120 666-12-3456 536-00-1234").is_empty());
        one(
            "iban DE89 3704 0044 0532 0130 00 ok",
            "iban",
            "DE89 3704 0044 0532 0130 00",
        );
        one("GB82WEST12345698765432", "iban", "GB82WEST12345698765432");
        assert!(found("DE89370400440532013001").is_empty());
        one("host 192.168.1.20:8080", "ip_address", "192.168.1.20");
        one("addr [2001:db8::1]:443", "ip_address", "2001:db8::1");
        one("lo ::1.", "ip_address", "::1");
        assert!(found(
            "at 12:30:45, mac 00:1a:2b:3c:4d:5e, std::vector, ver 1.2.3, 10.0.19045.2965"
        )
        .is_empty());
    }

    #[test]
    fn secrets() {
        let body = "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7dEf0hIj3kLm6n";
        one(
            &format!("key sk-{body} end"),
            "openai_api_key",
            &format!("sk-{body}"),
        );
        one(
            &format!("sk-proj-{body}_x-Y"),
            "openai_api_key",
            &format!("sk-proj-{body}_x-Y"),
        );
        let ant = format!("sk-ant-api03-{body}{body}AA");
        one(&format!("'{ant}'"), "anthropic_api_key", &ant);
        one(
            "id AKIAIOSFODNN7EXAMPLE,",
            "aws_access_key",
            "AKIAIOSFODNN7EXAMPLE",
        );
        one(
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "aws_secret_key",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        );
        one(
            "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
            "github_token",
            "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        );
        one(
            "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
            "slack_token",
            "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        );
        one(
            "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
            "stripe_key",
            "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
        );
        one(
            "AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe",
            "google_api_key",
            "AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe",
        );
        let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        one(&format!("Bearer {jwt}."), "jwt", jwt);
        let pk = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7\nabc+/=\n-----END RSA PRIVATE KEY-----";
        one(&format!("x\n{pk}\ny"), "private_key", pk);
        one(
            "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADAN\\nBgkq \"",
            "private_key",
            "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADAN\\nBgkq",
        );
        one(
            "api_key=\"9f8e7d6c5b4a3f2e1d0c\"",
            "generic_secret",
            "9f8e7d6c5b4a3f2e1d0c",
        );
        one(
            "Authorization: Bearer a8F3kL9mQ2xZ7pW4",
            "generic_secret",
            "a8F3kL9mQ2xZ7pW4",
        );
        assert!(found(
            "password = getPasswordFromEnv() token: YOUR_API_KEY_HERE secret: ${SECRET_TOKEN}"
        )
        .is_empty());
        assert!(found("sk-learn-is-a-library task-sk-abc eyJhbGciOiJIUzI1NiJ9x").is_empty());
    }

    #[test]
    fn palisade_credentials() {
        // As credentials.issue() makes them; the secret may start or end with '-' or '_'.
        let secret = "-Xq3_vB9kLm2nOp5qRs8tUv1wXy4zAb7dEf0hIj3kL_";
        assert_eq!(secret.len(), 43);
        let vk = format!("pal-0a1b2c3d4e5f-{secret}");
        let at = format!("pat-9f8e7d6c5b4a-{secret}");
        one(&format!("my key is {vk}."), "palisade_virtual_key", &vk);
        one(&format!("Bearer {at}"), "palisade_access_token", &at);
        one(
            &format!("{{\"key\":\"{vk}\"}}"),
            "palisade_virtual_key",
            &vk,
        );
        // An assignment is also a generic secret: the merged span is the whole key, named by
        // the precise kind.
        one(&format!("api_key={vk}"), "palisade_virtual_key", &vk);
        let forty = &secret[..40];
        one(
            &format!("x pal-0a1b2c3d4e5f-{forty} y"),
            "palisade_virtual_key",
            &format!("pal-0a1b2c3d4e5f-{forty}"),
        );
        // Base64url characters glued on the right are part of the token: all of it goes.
        one(
            &format!("{vk}-v2_x, ok"),
            "palisade_virtual_key",
            &format!("{vk}-v2_x"),
        );
        // Inside a longer token: "x-pal-...", "apal-...", or a run longer than any key.
        for not in [
            format!("x-{vk}"),
            format!("a{vk}"),
            format!("_{at}"),
            format!("{vk}{}", "x".repeat(250)),
        ] {
            assert!(found(&format!("see {not} end")).is_empty(), "{not}");
        }
        for not in [
            format!("pal-0a1b2c3d4e5-{secret}"),
            format!("pal-0a1b2c3d4e5f0-{secret}"),
            format!("pal-0A1B2C3D4E5F-{secret}"),
            format!("pal-0a1b2c3d4e5f-{}", &secret[..39]),
            format!("pak-0a1b2c3d4e5f-{secret}"),
            "a pal-friendly pat-down, pal-0a1b2c3d4e5f- and pat-".to_owned(),
        ] {
            assert!(found(&format!("see {not} end")).is_empty(), "{not}");
        }
        let only =
            RuleSet::new(Some(&["palisade_access_token".to_owned()]), &[], &[], &[]).unwrap();
        assert_eq!(only.scan(&format!("{vk} {at}")).len(), 1);
    }

    fn names(r: &RuleSet, t: &str) -> Vec<(String, String)> {
        r.scan(t)
            .into_iter()
            .map(|s| {
                (
                    r.kinds[s.kind as usize].name.clone(),
                    t[s.start..s.end].to_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn admin_tokens_match_exactly_anywhere_when_the_kind_is_on() {
        let (admin, viewer) = ("Op3rator-Chosen.admin!token", "viewer-token-0001");
        let tokens = [
            admin.to_owned(),
            viewer.to_owned(),
            "tooshort-15char".to_owned(),
        ];
        // Glued to other characters (a URL's query, "Bearer" without its blank, a longer
        // word), the token's bytes are still the secret: no word boundary is asked for. Upper
        // case is not a match: the admin API compares tokens byte for byte, so a case-folded
        // copy is a different string that opens nothing, and a token under 16 characters is
        // ignored.
        let text = format!(
            "curl -H 'Authorization: Bearer {admin}' https://gw/a?t={viewer}&v=2 \
             Bearer{viewer} {viewer}2; not {} or tooshort-15char",
            viewer.to_uppercase()
        );
        let want: Vec<(String, String)> = [admin, viewer, viewer, viewer]
            .iter()
            .map(|v| ("palisade_admin_token".to_owned(), (*v).to_owned()))
            .collect();
        for entities in [
            None,
            Some(vec!["secrets".to_owned()]),
            Some(vec!["palisade_admin_token".to_owned()]),
        ] {
            let r = RuleSet::new(entities.as_deref(), &[], &[], &tokens).unwrap();
            assert_eq!(names(&r, &text), want, "{entities:?}");
            assert_eq!(
                r.kinds[PALISADE_ADMIN_TOKEN as usize].category,
                Category::Secret
            );
            assert!(r.keywords.is_none(), "tokens are not keywords");
        }
        let off = RuleSet::new(Some(&["jwt".to_owned()]), &[], &[], &tokens).unwrap();
        assert!(off.scan(&text).is_empty());
        assert_eq!(
            off.admin_tokens().count(),
            0,
            "tokens of a kind that is off are not compiled"
        );
        // A keyword list that holds the token too does not rename it.
        let both = RuleSet::new(
            None,
            &[],
            &[("words".to_owned(), vec![viewer.to_owned()])],
            &tokens,
        )
        .unwrap();
        assert_eq!(
            names(&both, &format!("see {viewer} end"))[0].0,
            "palisade_admin_token"
        );
    }

    #[test]
    fn admin_token_copies_that_overlap_are_redacted_as_one() {
        let periodic = "xy".repeat(8);
        let r = RuleSet::new(None, &[], &[], &[periodic.clone(), periodic.clone()]).unwrap();
        assert_eq!(r.admin_tokens().count(), 1, "duplicates are one finder");
        let run = "xy".repeat(10);
        assert_eq!(
            names(&r, &format!("({run})")),
            vec![("palisade_admin_token".to_owned(), run)]
        );
        // Non-ASCII tokens match on character boundaries.
        let r = RuleSet::new(None, &[], &[], &["clé-d'accès-€-0042".to_owned()]).unwrap();
        assert_eq!(
            names(&r, "é€clé-d'accès-€-0042é"),
            vec![(
                "palisade_admin_token".to_owned(),
                "clé-d'accès-€-0042".to_owned()
            )]
        );
    }

    #[test]
    fn custom_and_keywords() {
        let r = RuleSet::new(
            Some(&["email".to_owned()]),
            &[("emp_id".to_owned(), r"EMP-\d{6}".to_owned())],
            &[(
                "project".to_owned(),
                vec!["Blue Falcon".to_owned(), "ORION".to_owned()],
            )],
            &[],
        )
        .unwrap();
        let t = "EMP-123456 on blue falcon, not orions; Orion. a@b.io 4111111111111111";
        let got: Vec<_> = r
            .scan(t)
            .into_iter()
            .map(|s| (r.kinds[s.kind as usize].name.as_str(), &t[s.start..s.end]))
            .collect();
        assert_eq!(
            got,
            vec![
                ("emp_id", "EMP-123456"),
                ("project", "blue falcon"),
                ("project", "Orion"),
                ("email", "a@b.io")
            ]
        );
    }

    #[test]
    fn config_errors_name_the_rule() {
        let e = RuleSet::new(None, &[("bad".to_owned(), "(".to_owned())], &[], &[])
            .err()
            .unwrap();
        assert!(matches!(e, CoreError::InvalidInput(m) if m.contains("\"bad\"")));
        let e = RuleSet::new(Some(&["emial".to_owned()]), &[], &[], &[])
            .err()
            .unwrap();
        assert!(matches!(e, CoreError::InvalidInput(m) if m.contains("emial")));
        assert!(RuleSet::new(None, &[("email".to_owned(), "x".to_owned())], &[], &[]).is_err());
    }

    #[test]
    fn scan_from_ignores_context_matches() {
        let r = rs();
        let t = "a@b.io then c@d.io";
        let all = r.scan(t);
        assert_eq!(all.len(), 2);
        assert_eq!(r.scan_from(t, 3), vec![all[1]]);
    }
}
