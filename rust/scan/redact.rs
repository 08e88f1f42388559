//! Redaction styles and placeholder numbering. Numbering lives in a `Numbering` owned by one
//! call, stream or masker, so "the same value maps to the same placeholder" holds exactly
//! within that scope and nowhere else.

use std::collections::HashMap;

use super::kinds::{KindId, KindInfo, Span};
use crate::errors::{CoreError, CoreResult};

#[derive(Clone)]
pub enum Style {
    /// `[EMAIL_1]`, numbered per distinct value and kind.
    Placeholder,
    /// The same fixed text for every match.
    Mask(String),
    /// Every letter and digit except the last four becomes '*'; other characters stay.
    Partial,
}

impl Style {
    pub fn parse(name: &str, mask_text: &str) -> CoreResult<Style> {
        match name {
            "placeholder" => Ok(Style::Placeholder),
            "mask" => Ok(Style::Mask(mask_text.to_owned())),
            "partial" => Ok(Style::Partial),
            other => Err(CoreError::InvalidInput(format!(
                "unknown redaction style {other:?}; expected \"placeholder\", \"mask\" or \"partial\""
            ))),
        }
    }
}

/// Value -> number per kind. Holds the values themselves only for the lifetime of its scope and
/// never prints them (no Debug).
#[derive(Default)]
pub struct Numbering {
    by_value: HashMap<(KindId, Box<str>), u32>,
    next: HashMap<KindId, u32>,
}

impl Numbering {
    /// The placeholder for `value`, and whether it is new in this scope.
    pub fn placeholder(
        &mut self,
        kind: &KindInfo,
        id: KindId,
        value: &str,
        avoid: &str,
    ) -> (String, bool) {
        if let Some(n) = self.by_value.get(&(id, value.into())) {
            return (format!("[{}_{}]", kind.label, n), false);
        }
        let counter = self.next.entry(id).or_insert(0);
        // Skip numbers whose placeholder already occurs in the input, so a reversible mapping
        // can never capture text the user wrote.
        let ph = loop {
            *counter += 1;
            let ph = format!("[{}_{}]", kind.label, counter);
            if avoid.is_empty() || !avoid.contains(&ph) {
                break ph;
            }
        };
        self.by_value.insert((id, value.into()), *counter);
        (ph, true)
    }
}

pub fn partial(value: &str, out: &mut String) {
    let keep_from = value
        .chars()
        .filter(|c| c.is_alphanumeric())
        .count()
        .saturating_sub(4);
    let mut seen = 0;
    for c in value.chars() {
        if c.is_alphanumeric() {
            out.push(if seen < keep_from { '*' } else { c });
            seen += 1;
        } else {
            out.push(c);
        }
    }
}

pub struct Replacer<'a> {
    pub kinds: &'a [KindInfo],
    pub style: &'a Style,
    pub numbering: &'a mut Numbering,
}

impl Replacer<'_> {
    /// Appends `text` with every selected span replaced. `base` is the byte offset of `text`
    /// within the coordinates of `spans`. Returns the spans that were replaced.
    pub fn apply(
        &mut self,
        text: &str,
        base: usize,
        spans: &[Span],
        select: impl Fn(KindId) -> bool,
        out: &mut String,
    ) -> Vec<Span> {
        let (kinds, style) = (self.kinds, self.style);
        let numbering = &mut *self.numbering;
        apply_spans(text, base, spans, kinds, style, numbering, select, out)
    }
}

#[allow(clippy::too_many_arguments)]
fn apply_spans(
    text: &str,
    base: usize,
    spans: &[Span],
    kinds: &[KindInfo],
    style: &Style,
    numbering: &mut Numbering,
    select: impl Fn(KindId) -> bool,
    out: &mut String,
) -> Vec<Span> {
    let mut done = Vec::new();
    let mut pos = 0;
    for s in spans {
        if !select(s.kind) {
            continue;
        }
        let (a, z) = (s.start - base, s.end - base);
        out.push_str(&text[pos..a]);
        let value = &text[a..z];
        let kind = &kinds[s.kind as usize];
        match style {
            Style::Placeholder => out.push_str(&numbering.placeholder(kind, s.kind, value, "").0),
            Style::Mask(m) => out.push_str(m),
            Style::Partial => partial(value, out),
        }
        pos = z;
        done.push(*s);
    }
    out.push_str(&text[pos..]);
    done
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::kinds::{Category, EMAIL, PHONE};

    fn kinds() -> Vec<KindInfo> {
        crate::scan::kinds::BUILTINS
            .iter()
            .map(|(n, c, p)| KindInfo::new(n, *c, *p))
            .collect()
    }

    #[test]
    fn placeholders_are_per_value_and_kind() {
        let k = kinds();
        let text = "a@x.io b@x.io a@x.io 555";
        let spans = [
            Span {
                kind: EMAIL,
                start: 0,
                end: 6,
            },
            Span {
                kind: EMAIL,
                start: 7,
                end: 13,
            },
            Span {
                kind: EMAIL,
                start: 14,
                end: 20,
            },
            Span {
                kind: PHONE,
                start: 21,
                end: 24,
            },
        ];
        let mut out = String::new();
        let done = apply_spans(
            text,
            0,
            &spans,
            &k,
            &Style::Placeholder,
            &mut Numbering::default(),
            |_| true,
            &mut out,
        );
        assert_eq!(out, "[EMAIL_1] [EMAIL_2] [EMAIL_1] [PHONE_1]");
        assert_eq!(done.len(), 4);
        let mut out = String::new();
        apply_spans(
            text,
            0,
            &spans,
            &k,
            &Style::Mask("****".into()),
            &mut Numbering::default(),
            |id| id == PHONE,
            &mut out,
        );
        assert_eq!(out, "a@x.io b@x.io a@x.io ****");
    }

    #[test]
    fn partial_keeps_last_four_alnum() {
        let mut s = String::new();
        partial("4111-1111-1111-1234", &mut s);
        assert_eq!(s, "****-****-****-1234");
        s.clear();
        partial("abc", &mut s);
        assert_eq!(s, "abc");
    }

    #[test]
    fn avoid_skips_numbers_present_in_input() {
        let k = KindInfo::new("email", Category::Pii, 1);
        let mut n = Numbering::default();
        assert_eq!(n.placeholder(&k, 0, "v", "see [EMAIL_1]").0, "[EMAIL_2]");
        assert_eq!(n.placeholder(&k, 0, "v", "").0, "[EMAIL_2]");
    }

    #[test]
    fn unknown_style_is_an_error() {
        assert!(Style::parse("blur", "").is_err());
    }
}
