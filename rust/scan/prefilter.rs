//! Candidate finding. Clean prose must cost close to a memory scan, so no detector regex runs
//! until a cheap trigger fires: an Aho-Corasick hit on a secret's fixed prefix, or one of the
//! few bytes every other detector needs ('@' for email, a digit for numbers and IPv4, ':' and
//! '=' for IPv6 and "key: value" assignments, '-' for the gateway's own `pal-` / `pat-`
//! credentials). Those two are not literals: "pa" starts so many words that adding them slowed
//! the literal search on clean prose by about 4% (benches/core_scan.py), and a '-' is rare there.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use super::kinds::*;

/// What a literal prefix hit should be checked as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lit {
    /// `sk-`: OpenAI, or Anthropic when followed by `ant-`.
    Sk,
    Stripe,
    AwsAccess,
    Google,
    Github,
    GithubPat,
    Slack,
    SlackHook,
    PrivateKey,
    Jwt,
    /// `pal-` / `pat-`, the gateway's own virtual keys and access tokens, at a '-' trigger.
    Palisade,
}

pub const T_DIGIT: u8 = 1;
pub const T_AT: u8 = 2;
pub const T_COLON: u8 = 4;
pub const T_EQ: u8 = 8;
pub const T_DASH: u8 = 16;

pub struct Prefilter {
    pub literals: Option<AhoCorasick>,
    pub lit_kind: Vec<Lit>,
    pub triggers: [u8; 256],
}

impl Prefilter {
    pub fn new(on: &[bool; N_BUILTIN]) -> Self {
        let table: &[(&str, Lit, KindId)] = &[
            ("sk-", Lit::Sk, OPENAI_API_KEY),
            ("sk-", Lit::Sk, ANTHROPIC_API_KEY),
            ("sk_live_", Lit::Stripe, STRIPE_KEY),
            ("sk_test_", Lit::Stripe, STRIPE_KEY),
            ("rk_live_", Lit::Stripe, STRIPE_KEY),
            ("rk_test_", Lit::Stripe, STRIPE_KEY),
            ("AKIA", Lit::AwsAccess, AWS_ACCESS_KEY),
            ("ASIA", Lit::AwsAccess, AWS_ACCESS_KEY),
            ("AIza", Lit::Google, GOOGLE_API_KEY),
            ("ghp_", Lit::Github, GITHUB_TOKEN),
            ("gho_", Lit::Github, GITHUB_TOKEN),
            ("ghu_", Lit::Github, GITHUB_TOKEN),
            ("ghs_", Lit::Github, GITHUB_TOKEN),
            ("ghr_", Lit::Github, GITHUB_TOKEN),
            ("github_pat_", Lit::GithubPat, GITHUB_TOKEN),
            ("xoxa-", Lit::Slack, SLACK_TOKEN),
            ("xoxb-", Lit::Slack, SLACK_TOKEN),
            ("xoxp-", Lit::Slack, SLACK_TOKEN),
            ("xoxo-", Lit::Slack, SLACK_TOKEN),
            ("xoxs-", Lit::Slack, SLACK_TOKEN),
            ("xoxr-", Lit::Slack, SLACK_TOKEN),
            ("https://hooks.slack.com/", Lit::SlackHook, SLACK_TOKEN),
            ("-----BEGIN", Lit::PrivateKey, PRIVATE_KEY),
            ("eyJ", Lit::Jwt, JWT),
        ];
        let mut pats: Vec<&str> = Vec::new();
        let mut lit_kind = Vec::new();
        for &(p, lit, kind) in table {
            if on[kind as usize] && !pats.contains(&p) {
                pats.push(p);
                lit_kind.push(lit);
            }
        }
        let literals = (!pats.is_empty()).then(|| {
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostFirst)
                .kind(Some(AhoCorasickKind::DFA))
                .build(&pats)
                .expect("fixed literal set always builds")
        });
        let mut triggers = [0u8; 256];
        let numeric = [PHONE, CREDIT_CARD, IBAN, US_SSN, IP_ADDRESS];
        if numeric.iter().any(|&k| on[k as usize]) {
            for d in b'0'..=b'9' {
                triggers[d as usize] |= T_DIGIT;
            }
        }
        if on[EMAIL as usize] {
            triggers[b'@' as usize] |= T_AT;
        }
        if on[IP_ADDRESS as usize] || on[GENERIC_SECRET as usize] || on[AWS_SECRET_KEY as usize] {
            triggers[b':' as usize] |= T_COLON;
        }
        if on[GENERIC_SECRET as usize] || on[AWS_SECRET_KEY as usize] {
            triggers[b'=' as usize] |= T_EQ;
        }
        if on[PALISADE_VIRTUAL_KEY as usize] || on[PALISADE_ACCESS_TOKEN as usize] {
            triggers[b'-' as usize] |= T_DASH;
        }
        Prefilter {
            literals,
            lit_kind,
            triggers,
        }
    }

    /// Positions (from `from`) of every trigger byte, passed to `f` with the trigger bits.
    #[inline]
    pub fn for_each_trigger(&self, b: &[u8], from: usize, mut f: impl FnMut(usize, u8)) {
        let t = &self.triggers;
        let mut i = from;
        // Unrolled by 8 so the common "nothing here" case is one OR of eight table lookups.
        while i + 8 <= b.len() {
            let w = &b[i..i + 8];
            let any = t[w[0] as usize]
                | t[w[1] as usize]
                | t[w[2] as usize]
                | t[w[3] as usize]
                | t[w[4] as usize]
                | t[w[5] as usize]
                | t[w[6] as usize]
                | t[w[7] as usize];
            if any != 0 {
                for (k, &c) in w.iter().enumerate() {
                    let bits = t[c as usize];
                    if bits != 0 {
                        f(i + k, bits);
                    }
                }
            }
            i += 8;
        }
        while i < b.len() {
            let bits = t[b[i] as usize];
            if bits != 0 {
                f(i, bits);
            }
            i += 1;
        }
    }
}
