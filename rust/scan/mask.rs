//! Reversible masking for one request: values become placeholders on the way to the provider
//! and come back in its answer. The originals live only in this object's memory; nothing here
//! implements Debug or prints them.

use memchr::memchr;
use std::collections::HashMap;
use std::sync::Arc;

use super::detectors::RuleSet;
use super::kinds::Span;
use super::redact::Numbering;

pub struct Masker {
    rules: Arc<RuleSet>,
    select: Option<Vec<bool>>,
    numbering: Numbering,
    originals: Arc<HashMap<String, String>>,
}

impl Masker {
    pub fn new(rules: Arc<RuleSet>, select: Option<Vec<bool>>) -> Self {
        Masker {
            rules,
            select,
            numbering: Numbering::default(),
            originals: Arc::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.originals.len()
    }

    pub fn is_empty(&self) -> bool {
        self.originals.is_empty()
    }

    /// Masks the selected kinds; returns the text and every detection (masked or not).
    pub fn mask(&mut self, text: &str) -> (String, Vec<Span>) {
        let spans = self.rules.scan(text);
        let mut out = String::with_capacity(text.len());
        let mut pos = 0;
        let originals = Arc::make_mut(&mut self.originals);
        for s in &spans {
            if self
                .select
                .as_ref()
                .is_some_and(|sel| !sel[s.kind as usize])
            {
                continue;
            }
            out.push_str(&text[pos..s.start]);
            let value = &text[s.start..s.end];
            let kind = &self.rules.kinds[s.kind as usize];
            let (ph, new) = self.numbering.placeholder(kind, s.kind, value, text);
            if new {
                originals.insert(ph.clone(), value.to_owned());
            }
            out.push_str(&ph);
            pos = s.end;
        }
        out.push_str(&text[pos..]);
        (out, spans)
    }

    pub fn unmask(&self, text: &str) -> String {
        unmask(&self.originals, text)
    }

    pub fn unmasker(&self) -> Unmasker {
        let max = self.originals.keys().map(String::len).max().unwrap_or(0);
        Unmasker {
            originals: Arc::clone(&self.originals),
            max,
            buf: String::new(),
        }
    }
}

fn unmask(originals: &HashMap<String, String>, text: &str) -> String {
    if originals.is_empty() {
        return text.to_owned();
    }
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let (mut pos, mut i) = (0, 0);
    while let Some(k) = memchr(b'[', &b[i..]) {
        let at = i + k;
        i = at + 1;
        if let Some(close) = b[at..].iter().take(64).position(|&c| c == b']') {
            if let Some(orig) = originals.get(&text[at..=at + close]) {
                out.push_str(&text[pos..at]);
                out.push_str(orig);
                pos = at + close + 1;
                i = pos;
            }
        }
    }
    out.push_str(&text[pos..]);
    out
}

/// Restores placeholders in a streamed answer, holding back only a tail that is still a
/// prefix of a known placeholder (e.g. `[EMAIL_` at the end of a chunk).
pub struct Unmasker {
    originals: Arc<HashMap<String, String>>,
    max: usize,
    buf: String,
}

impl Unmasker {
    pub fn feed(&mut self, chunk: &str) -> String {
        self.buf.push_str(chunk);
        let cut = match self.buf.rfind('[') {
            Some(at) if self.is_partial(&self.buf[at..]) => at,
            _ => self.buf.len(),
        };
        let out = unmask(&self.originals, &self.buf[..cut]);
        self.buf.drain(..cut);
        out
    }

    pub fn finish(&mut self) -> String {
        let out = unmask(&self.originals, &self.buf);
        self.buf.clear();
        out
    }

    fn is_partial(&self, tail: &str) -> bool {
        tail.len() < self.max && self.originals.keys().any(|k| k.starts_with(tail))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masker() -> Masker {
        Masker::new(Arc::new(RuleSet::new(None, &[], &[], &[]).unwrap()), None)
    }

    #[test]
    fn mask_and_unmask_round_trip() {
        let mut m = masker();
        let (t, spans) = m.mask("write to ann@ex.io and bob@ex.io, cc ann@ex.io");
        assert_eq!(t, "write to [EMAIL_1] and [EMAIL_2], cc [EMAIL_1]");
        assert_eq!(spans.len(), 3);
        let (t2, _) = m.mask("again bob@ex.io");
        assert_eq!(t2, "again [EMAIL_2]");
        assert_eq!(m.len(), 2);
        assert_eq!(
            m.unmask("Dear [EMAIL_2], see [EMAIL_1] [EMAIL_3] [x"),
            "Dear bob@ex.io, see ann@ex.io [EMAIL_3] [x"
        );
    }

    #[test]
    fn user_written_placeholder_is_never_captured() {
        let mut m = masker();
        let (t, _) = m.mask("literal [EMAIL_1] and ann@ex.io");
        assert_eq!(t, "literal [EMAIL_1] and [EMAIL_2]");
        assert_eq!(m.unmask("[EMAIL_1] [EMAIL_2]"), "[EMAIL_1] ann@ex.io");
    }

    #[test]
    fn streamed_unmask_every_split() {
        let mut m = masker();
        m.mask("a@b.io c@d.io e@f.io g@h.io i@j.io k@l.io m@n.io o@p.io q@r.io s@t.io u@v.io");
        let answer = "Hi [EMAIL_1], [EMAIL_10] and [EMAIL_11]; [EMAIL_] [EMAIL_99] [[EMAIL_2]]";
        let want = m.unmask(answer);
        assert!(want.contains("s@t.io") && want.contains("[c@d.io]"));
        for i in 0..=answer.len() {
            for j in i..=answer.len() {
                let mut u = m.unmasker();
                let mut got = u.feed(&answer[..i]);
                got.push_str(&u.feed(&answer[i..j]));
                got.push_str(&u.feed(&answer[j..]));
                got.push_str(&u.finish());
                assert_eq!(got, want, "{i},{j}");
            }
        }
        let mut u = m.unmasker();
        assert_eq!(u.feed("Hi [EMA"), "Hi ");
        assert_eq!(u.feed("IL_1] x"), "a@b.io x");
    }
}
