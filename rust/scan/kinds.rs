//! Entity kinds: the names a config selects, the category each belongs to, and the priority
//! that decides which kind names a merged span when detections overlap.

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Category {
    Pii,
    Secret,
    Custom,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Pii => "pii",
            Category::Secret => "secret",
            Category::Custom => "custom",
        }
    }
}

pub type KindId = u16;

pub const EMAIL: KindId = 0;
pub const PHONE: KindId = 1;
pub const CREDIT_CARD: KindId = 2;
pub const IBAN: KindId = 3;
pub const US_SSN: KindId = 4;
pub const IP_ADDRESS: KindId = 5;
pub const OPENAI_API_KEY: KindId = 6;
pub const ANTHROPIC_API_KEY: KindId = 7;
pub const AWS_ACCESS_KEY: KindId = 8;
pub const AWS_SECRET_KEY: KindId = 9;
pub const GITHUB_TOKEN: KindId = 10;
pub const SLACK_TOKEN: KindId = 11;
pub const STRIPE_KEY: KindId = 12;
pub const GOOGLE_API_KEY: KindId = 13;
pub const PRIVATE_KEY: KindId = 14;
pub const JWT: KindId = 15;
pub const GENERIC_SECRET: KindId = 16;
pub const PALISADE_VIRTUAL_KEY: KindId = 17;
pub const PALISADE_ACCESS_TOKEN: KindId = 18;
pub const PALISADE_ADMIN_TOKEN: KindId = 19;
pub const N_BUILTIN: usize = 20;

/// (name, category, priority). Higher priority names a merged span: specific secret formats
/// beat checksummed PII, which beats heuristics (generic secret, IP, phone). An admin token is
/// matched as the exact configured value, which no format is more certain of.
pub const BUILTINS: [(&str, Category, u8); N_BUILTIN] = [
    ("email", Category::Pii, 60),
    ("phone", Category::Pii, 30),
    ("credit_card", Category::Pii, 70),
    ("iban", Category::Pii, 70),
    ("us_ssn", Category::Pii, 70),
    ("ip_address", Category::Pii, 40),
    ("openai_api_key", Category::Secret, 90),
    ("anthropic_api_key", Category::Secret, 90),
    ("aws_access_key", Category::Secret, 90),
    ("aws_secret_key", Category::Secret, 85),
    ("github_token", Category::Secret, 90),
    ("slack_token", Category::Secret, 90),
    ("stripe_key", Category::Secret, 90),
    ("google_api_key", Category::Secret, 90),
    ("private_key", Category::Secret, 100),
    ("jwt", Category::Secret, 90),
    ("generic_secret", Category::Secret, 50),
    ("palisade_virtual_key", Category::Secret, 90),
    ("palisade_access_token", Category::Secret, 90),
    ("palisade_admin_token", Category::Secret, 95),
];

/// Custom rules rank between the specific secrets and validated PII: the operator wrote them
/// on purpose, but a checksummed secret format is still the more precise name.
pub const CUSTOM_PRIORITY: u8 = 80;

#[derive(Clone, Debug)]
pub struct KindInfo {
    pub name: String,
    pub category: Category,
    pub priority: u8,
    /// Upper-case label used in typed placeholders: `[EMAIL_1]`.
    pub label: String,
}

impl KindInfo {
    pub fn new(name: &str, category: Category, priority: u8) -> Self {
        let label = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect();
        KindInfo {
            name: name.to_owned(),
            category,
            priority,
            label,
        }
    }
}

/// A detection in byte offsets of the scanned text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub kind: KindId,
    pub start: usize,
    pub end: usize,
}

/// Sorts and merges overlapping detections: the union of an overlapping group is one span,
/// named by the highest priority, then the longest, then the earliest, then the lowest kind id.
/// Union rather than "drop the loser" so that a redaction never leaves part of a secret behind.
pub fn merge(mut raw: Vec<Span>, kinds: &[KindInfo]) -> Vec<Span> {
    if raw.len() < 2 {
        return raw;
    }
    raw.sort_unstable_by(|a, b| {
        a.start
            .cmp(&b.start)
            .then(b.end.cmp(&a.end))
            .then(a.kind.cmp(&b.kind))
    });
    let rank = |s: &Span| (kinds[s.kind as usize].priority, s.end - s.start);
    let mut out: Vec<Span> = Vec::with_capacity(raw.len());
    let mut best = raw[0];
    let mut cur = raw[0];
    for s in raw.into_iter().skip(1) {
        if s.start < cur.end {
            cur.end = cur.end.max(s.end);
            if rank(&s) > rank(&best) {
                best = s;
            }
        } else {
            out.push(Span {
                kind: best.kind,
                ..cur
            });
            best = s;
            cur = s;
        }
    }
    out.push(Span {
        kind: best.kind,
        ..cur
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Vec<KindInfo> {
        BUILTINS
            .iter()
            .map(|(n, c, p)| KindInfo::new(n, *c, *p))
            .collect()
    }

    #[test]
    fn merge_unions_and_prefers_priority_then_length() {
        let k = table();
        let raw = vec![
            Span {
                kind: GENERIC_SECRET,
                start: 10,
                end: 60,
            },
            Span {
                kind: OPENAI_API_KEY,
                start: 10,
                end: 55,
            },
            Span {
                kind: PHONE,
                start: 0,
                end: 5,
            },
            Span {
                kind: IP_ADDRESS,
                start: 70,
                end: 80,
            },
            Span {
                kind: PHONE,
                start: 75,
                end: 90,
            },
        ];
        let got = merge(raw, &k);
        assert_eq!(
            got,
            vec![
                Span {
                    kind: PHONE,
                    start: 0,
                    end: 5
                },
                Span {
                    kind: OPENAI_API_KEY,
                    start: 10,
                    end: 60
                },
                Span {
                    kind: IP_ADDRESS,
                    start: 70,
                    end: 90
                },
            ]
        );
    }

    #[test]
    fn merge_is_order_independent() {
        let k = table();
        let a = vec![
            Span {
                kind: EMAIL,
                start: 0,
                end: 9,
            },
            Span {
                kind: JWT,
                start: 3,
                end: 7,
            },
        ];
        let b: Vec<Span> = a.iter().rev().copied().collect();
        assert_eq!(merge(a, &k), merge(b, &k));
    }

    #[test]
    fn labels() {
        assert_eq!(
            KindInfo::new("credit_card", Category::Pii, 1).label,
            "CREDIT_CARD"
        );
        assert_eq!(
            KindInfo::new("emp-id.v2", Category::Custom, 1).label,
            "EMP_ID_V2"
        );
    }
}
