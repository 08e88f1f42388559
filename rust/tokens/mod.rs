//! Exact BPE token counts for OpenAI's `o200k_base` and `cl100k_base` (ordinary encoding: special
//! tokens are plain text), with the rank data compiled into the extension.
//!
//! `bpe-openai` was chosen over `tiktoken-rs` by measurement (see benches/core_tokens.py): both
//! are exact, and `bpe-openai` was as fast on English prose and 1.4–3× faster on code, CJK and
//! with cl100k. Its encoders are process-wide statics built on first use (~70 ms for o200k,
//! ~35 ms for cl100k); the price is ~45 MB of prebuilt tables in the binary.

mod chat;
mod image;
mod model;

use crate::errors::{CoreError, CoreResult};
use bpe_openai::Tokenizer;
use fnv::FnvHashSet;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::sync::OnceLock;

pub use chat::count_chat_tokens;
pub use model::encoding_for_model;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    O200kBase,
    Cl100kBase,
}

impl Encoding {
    pub fn from_name(name: &str) -> CoreResult<Self> {
        match name {
            "o200k_base" => Ok(Encoding::O200kBase),
            "cl100k_base" => Ok(Encoding::Cl100kBase),
            other => Err(CoreError::InvalidInput(format!(
                "unknown encoding {other:?}; expected \"o200k_base\" or \"cl100k_base\""
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Encoding::O200kBase => "o200k_base",
            Encoding::Cl100kBase => "cl100k_base",
        }
    }

    pub fn count(self, text: &str) -> usize {
        self.counter().count(text, usize::MAX)
    }

    /// `count`, but it stops once the count is past `limit`: exact when the result is at most
    /// `limit`, some number above it otherwise. A check against a bound then costs the bound,
    /// not the length of the text.
    pub fn count_up_to(self, text: &str, limit: usize) -> usize {
        self.counter().count(text, limit)
    }

    fn counter(self) -> &'static Counter {
        static O200K: OnceLock<Counter> = OnceLock::new();
        static CL100K: OnceLock<Counter> = OnceLock::new();
        match self {
            Encoding::O200kBase => O200K.get_or_init(|| Counter::new(bpe_openai::o200k_base())),
            Encoding::Cl100kBase => CL100K.get_or_init(|| Counter::new(bpe_openai::cl100k_base())),
        }
    }
}

/// The tokenizer plus the set of pieces that are whole tokens. Most pre-tokenized pieces of
/// prose (" the", " government") are, and answering them from a hash set skips the BPE
/// search and its two allocations per piece. tiktoken takes the same shortcut, so this cannot
/// change a count.
struct Counter {
    tokenizer: &'static Tokenizer,
    whole_tokens: FnvHashSet<&'static [u8]>,
}

impl Counter {
    fn new(tokenizer: &'static Tokenizer) -> Self {
        let bpe = &tokenizer.bpe;
        let whole_tokens = (0..bpe.num_tokens() as u32)
            .map(|id| bpe.token_bytes(id))
            .collect();
        Counter {
            tokenizer,
            whole_tokens,
        }
    }

    /// The count, or a number past `limit` as soon as the count is past it (pieces count
    /// independently, so a prefix of them is an exact partial count).
    fn count(&self, text: &str, limit: usize) -> usize {
        // Neither OpenAI encoding normalizes its input, so splitting `text` directly is what
        // `Tokenizer::count` would do.
        let mut total = 0usize;
        for piece in self.tokenizer.split(text) {
            let bytes = piece.as_bytes();
            total += if self.whole_tokens.contains(bytes) {
                1
            } else {
                self.tokenizer.bpe.count(bytes)
            };
            if total > limit {
                break;
            }
        }
        total
    }
}

// ---- Python wrappers -------------------------------------------------------------------------

/// Measured: 1 KiB of prose counts in ~22 µs while a GIL release and re-acquire costs ~0.3 µs;
/// below this the hand-over would be a noticeable share of the call.
const DETACH_THRESHOLD: usize = 1024;

#[pyfunction]
#[pyo3(signature = (text, encoding = "o200k_base"))]
fn count_tokens(py: Python<'_>, text: &str, encoding: &str) -> PyResult<usize> {
    let enc = Encoding::from_name(encoding)?;
    Ok(if text.len() >= DETACH_THRESHOLD {
        py.detach(|| enc.count(text))
    } else {
        enc.count(text)
    })
}

#[pyfunction(name = "encoding_for_model")]
fn py_encoding_for_model(model: &str) -> &'static str {
    encoding_for_model(model).name()
}

#[pyfunction(name = "count_chat_tokens")]
#[pyo3(signature = (messages_json, model, tools_json = None))]
fn py_count_chat_tokens(
    py: Python<'_>,
    messages_json: &Bound<'_, PyBytes>,
    model: &str,
    tools_json: Option<&Bound<'_, PyBytes>>,
) -> PyResult<u64> {
    let enc = encoding_for_model(model);
    let messages = messages_json.as_bytes();
    let tools = tools_json.map(|t| t.as_bytes());
    let run = || count_chat_tokens(messages, enc, tools);
    let big = messages.len() + tools.map_or(0, <[u8]>::len) >= DETACH_THRESHOLD;
    Ok(if big { py.detach(run) } else { run() }?)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(count_tokens, m)?)?;
    m.add_function(wrap_pyfunction!(py_encoding_for_model, m)?)?;
    m.add_function(wrap_pyfunction!(py_count_chat_tokens, m)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_counts() {
        // Reference values from the tiktoken package.
        assert_eq!(Encoding::O200kBase.count("hello world"), 2);
        assert_eq!(Encoding::Cl100kBase.count("hello world"), 2);
        assert_eq!(Encoding::O200kBase.count(""), 0);
        assert_eq!(Encoding::O200kBase.count("<|endoftext|>"), 7);
        assert_eq!(Encoding::Cl100kBase.count("<|endoftext|>"), 7);
    }

    #[test]
    fn encoding_names_round_trip_and_unknown_is_invalid_input() {
        for enc in [Encoding::O200kBase, Encoding::Cl100kBase] {
            assert_eq!(Encoding::from_name(enc.name()), Ok(enc));
        }
        assert!(matches!(
            Encoding::from_name("p50k_base"),
            Err(CoreError::InvalidInput(_))
        ));
    }

    #[test]
    fn count_up_to_is_exact_below_the_limit_and_stops_past_it() {
        let text = "The quick brown fox jumps over the lazy dog. ".repeat(200);
        let full = Encoding::O200kBase.count(&text);
        assert_eq!(Encoding::O200kBase.count_up_to(&text, full), full);
        let cut = Encoding::O200kBase.count_up_to(&text, 50);
        assert!(cut > 50 && cut < full, "{cut} of {full}");
    }

    #[test]
    fn long_runs_match_tiktoken() {
        // Reference values from the tiktoken package.
        for (enc, newlines) in [(Encoding::O200kBase, 189), (Encoding::Cl100kBase, 96)] {
            assert_eq!(enc.count(&" ".repeat(5000)), 40);
            assert_eq!(enc.count(&"a".repeat(10_000)), 1250);
            assert_eq!(enc.count(&format!("{}x", "\n".repeat(3000))), newlines);
        }
    }
}
