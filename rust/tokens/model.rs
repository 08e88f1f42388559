//! Model name → encoding. Mirrors the families OpenAI documents; anything unknown falls back to
//! `o200k_base`, the encoding of every current OpenAI chat model, because a gateway must still
//! account for a model it has never heard of and the newest vocabulary is the likeliest match.

use super::Encoding;

/// Families that are an exact name or a `name-…` variant (dated snapshots, `-mini`, `-pro`).
const FAMILIES: &[(&str, Encoding)] = &[
    // Checked before `gpt-4`: these share its prefix but not its vocabulary.
    ("gpt-4o", Encoding::O200kBase),
    ("chatgpt-4o", Encoding::O200kBase),
    ("gpt-4.1", Encoding::O200kBase),
    ("gpt-4.5", Encoding::O200kBase),
    ("o1", Encoding::O200kBase),
    ("o3", Encoding::O200kBase),
    ("o4-mini", Encoding::O200kBase),
    ("o4", Encoding::O200kBase),
    ("gpt-oss", Encoding::O200kBase),
    ("gpt-4", Encoding::Cl100kBase),
    ("gpt-3.5-turbo", Encoding::Cl100kBase),
    ("gpt-3.5", Encoding::Cl100kBase),
    ("gpt-35-turbo", Encoding::Cl100kBase),
    ("text-embedding-3-small", Encoding::Cl100kBase),
    ("text-embedding-3-large", Encoding::Cl100kBase),
    ("text-embedding-ada-002", Encoding::Cl100kBase),
    ("davinci-002", Encoding::Cl100kBase),
    ("babbage-002", Encoding::Cl100kBase),
];

/// Families whose later versions follow without a dash (`gpt-5`, `gpt-5.1`, `gpt-5-mini`).
const OPEN_PREFIXES: &[(&str, Encoding)] = &[
    ("gpt-5", Encoding::O200kBase),
    ("text-embedding-3-", Encoding::Cl100kBase),
];

pub fn encoding_for_model(model: &str) -> Encoding {
    let name = normalize(model);
    let name = name.as_str();
    for &(family, enc) in FAMILIES {
        if let Some(rest) = name.strip_prefix(family) {
            if rest.is_empty() || rest.starts_with('-') {
                return enc;
            }
        }
    }
    for &(prefix, enc) in OPEN_PREFIXES {
        if name.starts_with(prefix) {
            return enc;
        }
    }
    Encoding::O200kBase
}

/// `openai/gpt-4o`, `azure/gpt-4o`, `ft:gpt-4o-mini:org::id`, ` GPT-4o ` all name `gpt-4o…`.
fn normalize(model: &str) -> String {
    let mut name = model.trim();
    if let Some(i) = name.rfind('/') {
        name = &name[i + 1..];
    }
    if let Some(rest) = name.strip_prefix("ft:") {
        name = rest.split(':').next().unwrap_or(rest);
    }
    name.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use Encoding::{Cl100kBase as C, O200kBase as O};

    #[test]
    fn known_families() {
        for (model, enc) in [
            ("gpt-4o", O),
            ("gpt-4o-mini", O),
            ("gpt-4o-2024-08-06", O),
            ("chatgpt-4o-latest", O),
            ("gpt-4.1", O),
            ("gpt-4.1-nano-2025-04-14", O),
            ("gpt-4.5-preview", O),
            ("gpt-5", O),
            ("gpt-5.1", O),
            ("gpt-5-mini", O),
            ("o1", O),
            ("o1-preview", O),
            ("o3-mini", O),
            ("o4-mini-2025-04-16", O),
            ("gpt-4", C),
            ("gpt-4-0613", C),
            ("gpt-4-turbo", C),
            ("gpt-4-32k", C),
            ("gpt-3.5-turbo", C),
            ("gpt-3.5-turbo-0125", C),
            ("gpt-35-turbo-16k", C),
            ("text-embedding-3-small", C),
            ("text-embedding-3-large", C),
            ("text-embedding-ada-002", C),
        ] {
            assert_eq!(encoding_for_model(model), enc, "{model}");
        }
    }

    #[test]
    fn prefixes_fine_tunes_and_case() {
        assert_eq!(encoding_for_model("openai/gpt-4"), C);
        assert_eq!(encoding_for_model("azure/openai/gpt-3.5-turbo"), C);
        assert_eq!(encoding_for_model("ft:gpt-3.5-turbo-0125:acme::abc123"), C);
        assert_eq!(encoding_for_model("ft:gpt-4o-mini:acme::abc123"), O);
        assert_eq!(encoding_for_model(" GPT-4 "), C);
    }

    #[test]
    fn near_misses_and_unknown_fall_back_to_o200k() {
        // `gpt-4o` must not be read as a `gpt-4` variant, nor `o10` as `o1`.
        assert_eq!(encoding_for_model("gpt-4omni"), O);
        assert_eq!(encoding_for_model("gpt-40"), O);
        assert_eq!(encoding_for_model("claude-sonnet-4"), O);
        assert_eq!(encoding_for_model(""), O);
    }
}
