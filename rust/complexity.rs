//! How complex a prompt looks, in [0, 1], from cheap features: the model-downgrade rules send a
//! request that scores low (and is short, with no tools or images: the gateway checks those) to
//! a cheaper model.
//!
//! Why these features: what a small model gets wrong is work that needs several steps held
//! together: code to write or read, formulas, a list of constraints to meet at once, several
//! questions in one turn, a request to prove, derive, design or analyze, a text that mixes
//! languages, or a long one. Each is visible in the bytes without a model, so one pass over the
//! text (and one Aho-Corasick pass for the cue words, built once per process) decides.
//!
//! How they combine: each feature gives evidence `e = weight * saturation` in [0, weight]: the
//! saturation is a feature's count over the count at which it says all it can (8 code lines,
//! 10 math symbols, 6 list items, 4 questions beyond the first, 2 scripts beyond the first; the
//! length grows with the logarithm of the words from 40 to 1500), and each distinct cue word
//! found is one more piece of evidence with its own weight. The score is `1 - prod(1 - e)`,
//! as if the pieces were independent: it grows with every feature, never passes 1, and no
//! single weak one (a long but plain text, one "compare") is enough to call a prompt complex,
//! while two or three together are. The weights were set so that a greeting or a one-line
//! question scores under 0.05, a plain paragraph under 0.3, and a multi-part coding or proof
//! task over 0.8 (see the tests).
//!
//! Cue words are English. A prompt in another language is judged by its length, code, math,
//! lists and questions only, which scores it lower: a rule's bound on tokens still applies.
//!
//! Deterministic: no state and no randomness; the same text always gets the same score.

use crate::tokens::encoding_for_model;
use aho_corasick::{AhoCorasick, MatchKind};
use pyo3::prelude::*;
use std::sync::OnceLock;

const LENGTH_WEIGHT: f64 = 0.5;
const LENGTH_FROM_WORDS: f64 = 40.0;
const LENGTH_FULL_WORDS: f64 = 1500.0;
const CODE_WEIGHT: f64 = 0.55;
const CODE_FULL_LINES: usize = 8;
const MATH_WEIGHT: f64 = 0.4;
const MATH_FULL: usize = 10;
const LIST_WEIGHT: f64 = 0.35;
const LIST_FULL: usize = 6;
const QUESTION_WEIGHT: f64 = 0.3;
const QUESTION_FULL: usize = 4;
const SCRIPT_WEIGHT: f64 = 0.25;
const SCRIPT_FULL: usize = 2;
// Letters of a script before it counts as used (a quoted name is not a second language).
const SCRIPT_MIN_LETTERS: u32 = 3;

struct Cue {
    text: &'static str,
    weight: f64,
    // A stem matches any word it starts (`analy`: analyze, analysis); otherwise the word must
    // end there (`plan`, not `planet`).
    stem: bool,
}

const fn cue(text: &'static str, weight: f64, stem: bool) -> Cue {
    Cue { text, weight, stem }
}

const STRONG: f64 = 0.4;
const MEDIUM: f64 = 0.3;
const MILD: f64 = 0.15;

// At most 64: the distinct cues found are a bit set.
const CUES: &[Cue] = &[
    cue("step by step", STRONG, false),
    cue("step-by-step", STRONG, false),
    cue("prove", STRONG, false),
    cue("proves", STRONG, false),
    cue("proving", STRONG, false),
    cue("proof", STRONG, false),
    cue("proofs", STRONG, false),
    cue("deriv", STRONG, true),
    cue("theorem", STRONG, true),
    cue("lemma", STRONG, true),
    cue("formally", STRONG, false),
    cue("analy", MEDIUM, true),
    cue("design", MEDIUM, true),
    cue("architect", MEDIUM, true),
    cue("algorithm", MEDIUM, true),
    cue("optimi", MEDIUM, true),
    cue("refactor", MEDIUM, true),
    cue("debug", MEDIUM, true),
    cue("implement", MEDIUM, true),
    cue("trade-off", MEDIUM, true),
    cue("tradeoff", MEDIUM, true),
    cue("edge case", MEDIUM, true),
    cue("time complexity", MEDIUM, false),
    cue("space complexity", MEDIUM, false),
    cue("big-o", MEDIUM, false),
    cue("concurren", MEDIUM, true),
    cue("multi-step", MEDIUM, false),
    cue("rigorous", MEDIUM, true),
    cue("compar", MILD, true),
    cue("contrast", MILD, true),
    cue("evaluat", MILD, true),
    cue("explain why", MILD, false),
    cue("justify", MILD, false),
    cue("in detail", MILD, false),
    cue("pros and cons", MILD, false),
    cue("reasoning", MILD, false),
    cue("strateg", MILD, true),
    cue("critique", MILD, false),
    cue("assess", MILD, true),
    cue("investigat", MILD, true),
    cue("comprehensive", MILD, true),
    cue("thorough", MILD, true),
    cue("plan", MILD, false),
    cue("calculat", MILD, true),
    cue("solve", MILD, false),
    cue("test case", MILD, true),
];

fn cue_automaton() -> &'static AhoCorasick {
    static AUTOMATON: OnceLock<AhoCorasick> = OnceLock::new();
    AUTOMATON.get_or_init(|| {
        // Measured: a DFA scans no faster here than the default's choice (~1.5 ns per byte).
        AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            .build(CUES.iter().map(|c| c.text))
            .expect("the cue words are fixed, valid patterns")
    })
}

/// The counts the score is made of (public for tests and tuning).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Features {
    pub words: usize,
    pub code_lines: usize,
    pub math: usize,
    pub list_items: usize,
    pub questions: usize,
    pub scripts: usize,
    /// Bit `i` set: `CUES[i]` occurs.
    pub cues: u64,
}

#[derive(Clone, Copy)]
enum Script {
    Latin,
    Greek,
    Cyrillic,
    Hebrew,
    Arabic,
    Devanagari,
    Thai,
    Hangul,
    // Han, kana: no spaces between words, so every character counts as a word.
    Cjk,
}
const SCRIPTS: usize = 9;

fn script_of(c: u32) -> Option<Script> {
    Some(match c {
        0x00C0..=0x024F => Script::Latin,
        0x0370..=0x03FF => Script::Greek,
        0x0400..=0x04FF => Script::Cyrillic,
        0x0590..=0x05FF => Script::Hebrew,
        0x0600..=0x06FF => Script::Arabic,
        0x0900..=0x097F => Script::Devanagari,
        0x0E00..=0x0E7F => Script::Thai,
        0xAC00..=0xD7AF => Script::Hangul,
        0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF => Script::Cjk,
        _ => return None,
    })
}

fn is_math_symbol(c: u32) -> bool {
    // Mathematical operators and arrows, superscripts and subscripts, ×, ÷, ±.
    matches!(c, 0x2200..=0x22FF | 0x2190..=0x21FF | 0x2070..=0x209F | 0xD7 | 0xF7 | 0xB1)
}

impl Features {
    pub fn of(text: &str) -> Self {
        let mut f = Features::default();
        let mut letters = [0u32; SCRIPTS];
        let mut in_fence = false;
        for line in text.split('\n') {
            let trimmed = line.trim();
            if trimmed.is_empty() {
                continue;
            }
            if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
                in_fence = !in_fence;
                continue;
            }
            let code = in_fence || looks_like_code(line, trimmed);
            if code {
                f.code_lines += 1;
            } else if is_list_item(trimmed) {
                f.list_items += 1;
            }
            f.scan_line(line, code, &mut letters);
        }
        f.scripts = letters.iter().filter(|&&n| n >= SCRIPT_MIN_LETTERS).count();
        f.cues = cues(text);
        f
    }

    /// Words, letters per script, and outside code: questions and math symbols.
    fn scan_line(&mut self, line: &str, code: bool, letters: &mut [u32; SCRIPTS]) {
        let bytes = line.as_bytes();
        let mut in_word = false;
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if b < 0x80 {
                let alnum = b.is_ascii_alphanumeric();
                if alnum && !in_word {
                    self.words += 1;
                }
                in_word = alnum;
                if b.is_ascii_alphabetic() {
                    letters[Script::Latin as usize] += 1;
                }
                if !code {
                    match b {
                        b'?' => self.questions += 1,
                        b'=' | b'^' | b'+' | b'$' => self.math += 1,
                        // A LaTeX command: `\frac`, `\sum`.
                        b'\\' if bytes.get(i + 1).is_some_and(u8::is_ascii_alphabetic) => {
                            self.math += 1
                        }
                        _ => {}
                    }
                }
                i += 1;
                continue;
            }
            // `i` is always at a character boundary: ASCII bytes and whole characters only.
            let Some(c) = line[i..].chars().next() else {
                break;
            };
            i += c.len_utf8();
            let cp = c as u32;
            match script_of(cp) {
                Some(Script::Cjk) => {
                    self.words += 1;
                    in_word = false;
                    letters[Script::Cjk as usize] += 1;
                }
                Some(script) => {
                    if !in_word {
                        self.words += 1;
                    }
                    in_word = true;
                    letters[script as usize] += 1;
                }
                None => {
                    in_word = c.is_alphanumeric() && in_word;
                    if !code {
                        if cp == 0xFF1F {
                            self.questions += 1; // the full-width question mark
                        } else if is_math_symbol(cp) {
                            self.math += 1;
                        }
                    }
                }
            }
        }
    }

    pub fn score(&self) -> f64 {
        let mut keep = 1.0;
        let length = if self.words as f64 <= LENGTH_FROM_WORDS {
            0.0
        } else {
            ((self.words as f64 / LENGTH_FROM_WORDS).ln()
                / (LENGTH_FULL_WORDS / LENGTH_FROM_WORDS).ln())
            .min(1.0)
        };
        keep *= 1.0 - LENGTH_WEIGHT * length;
        keep *= 1.0 - CODE_WEIGHT * saturation(self.code_lines, CODE_FULL_LINES);
        keep *= 1.0 - MATH_WEIGHT * saturation(self.math, MATH_FULL);
        keep *= 1.0 - LIST_WEIGHT * saturation(self.list_items, LIST_FULL);
        keep *= 1.0 - QUESTION_WEIGHT * saturation(self.questions.saturating_sub(1), QUESTION_FULL);
        keep *= 1.0 - SCRIPT_WEIGHT * saturation(self.scripts.saturating_sub(1), SCRIPT_FULL);
        for (i, cue) in CUES.iter().enumerate() {
            if self.cues & (1 << i) != 0 {
                keep *= 1.0 - cue.weight;
            }
        }
        (1.0 - keep).clamp(0.0, 1.0)
    }
}

fn saturation(count: usize, full: usize) -> f64 {
    (count as f64 / full as f64).min(1.0)
}

const CODE_STARTS: &[&str] = &[
    "def ",
    "class ",
    "import ",
    "#include",
    "fn ",
    "pub fn ",
    "let ",
    "const ",
    "var ",
    "function ",
    "return ",
    "public ",
    "private ",
    "package ",
    "async ",
    "if (",
    "for (",
    "while (",
    "} else",
    "SELECT ",
    "INSERT ",
    "CREATE TABLE",
    "//",
    "/*",
    "#!/",
];
const CODE_PARTS: &[&str] = &["=>", "->", "::", "==", "!=", "&&", "||", "();", "+=", "</"];

fn looks_like_code(line: &str, trimmed: &str) -> bool {
    if trimmed.ends_with(';') || trimmed.ends_with('{') || trimmed.ends_with('}') {
        return true;
    }
    if CODE_STARTS.iter().any(|s| trimmed.starts_with(s)) {
        return true;
    }
    if CODE_PARTS.iter().any(|s| trimmed.contains(s)) {
        return true;
    }
    // An indented line with brackets or an assignment.
    (line.starts_with("    ") || line.starts_with('\t'))
        && trimmed.bytes().any(|b| matches!(b, b'(' | b'[' | b'='))
}

/// `- x`, `* x`, `+ x`, `• x`, `1. x`, `12) x`, `a) x`.
fn is_list_item(trimmed: &str) -> bool {
    let b = trimmed.as_bytes();
    if b.len() < 3 {
        return false;
    }
    if matches!(b[0], b'-' | b'*' | b'+') && b[1] == b' ' {
        return true;
    }
    if trimmed.starts_with("• ") {
        return true;
    }
    let digits = b.iter().take(3).take_while(|c| c.is_ascii_digit()).count();
    if digits > 0 {
        return matches!(b.get(digits), Some(b'.' | b')')) && b.get(digits + 1) == Some(&b' ');
    }
    b[0].is_ascii_lowercase() && b[1] == b')' && b[2] == b' '
}

fn cues(text: &str) -> u64 {
    let bytes = text.as_bytes();
    let mut found = 0u64;
    for m in cue_automaton().find_iter(text) {
        let (start, end) = (m.start(), m.end());
        if start > 0 && bytes[start - 1].is_ascii_alphanumeric() {
            continue;
        }
        let i = m.pattern().as_usize();
        if !CUES[i].stem && bytes.get(end).is_some_and(u8::is_ascii_alphanumeric) {
            continue;
        }
        found |= 1 << i;
    }
    found
}

/// The complexity score of `text` (see the module's comment).
pub fn complexity(text: &str) -> f64 {
    Features::of(text).score()
}

// ---- Python wrapper ----------------------------------------------------------------------

/// Counting is the costly part (~22 µs per KiB of prose); below this a GIL hand-over would be a
/// noticeable share of the call.
const DETACH_THRESHOLD: usize = 1024;

/// The count up to the bound first: past it, the request is not simple whatever its score, and
/// the scan (~3 ns per byte, measured: 56 µs for 20 KB) is skipped.
pub fn tokens_and_complexity(text: &str, model: &str, limit: usize) -> (usize, Option<f64>) {
    let tokens = encoding_for_model(model).count_up_to(text, limit);
    (tokens, (tokens <= limit).then(|| complexity(text)))
}

#[pyfunction]
#[pyo3(signature = (text, model = "gpt-4o", max_tokens = None))]
fn prompt_complexity(
    py: Python<'_>,
    text: &str,
    model: &str,
    max_tokens: Option<usize>,
) -> (usize, Option<f64>) {
    let limit = max_tokens.unwrap_or(usize::MAX);
    let run = || tokens_and_complexity(text, model, limit);
    if text.len() >= DETACH_THRESHOLD {
        py.detach(run)
    } else {
        run()
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(prompt_complexity, m)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CODING_TASK: &str = "Implement a thread-safe LRU cache in Rust. Requirements:
1. O(1) get and put.
2. Entries expire after a TTL.
3. Readers must not block each other.
Then analyze the time complexity, prove that eviction never drops a live entry, and compare \
the design with one based on a skip list. What are the edge cases? How would you test it?
```rust
struct Cache<K, V> {
    map: HashMap<K, Entry<V>>,
    order: VecDeque<K>,
}
```";

    const PROOF_TASK: &str = "Prove that for every integer n >= 1, the sum 1 + 2 + ... + n = \
n(n+1)/2. Then derive a closed form for \\sum_{k=1}^{n} k^2, prove it by induction step by \
step, and explain why the argument fails for negative n. Is there a combinatorial proof?";

    #[test]
    fn greetings_and_one_line_questions_score_low() {
        for text in [
            "Hello!",
            "Hi, how are you today?",
            "What is the capital of France?",
            "Translate 'good morning' into Spanish.",
            "Say hello in one word.",
        ] {
            let s = complexity(text);
            assert!(s < 0.05, "{text:?} scored {s}");
        }
    }

    #[test]
    fn a_plain_paragraph_scores_under_the_usual_bound() {
        let text = "Please rewrite the following note so that it sounds friendlier. We will \
            meet on Thursday at the usual place, bring the documents you promised last week \
            and tell the others that lunch is on us this time. Thanks for your help.";
        let s = complexity(text);
        assert!(s < 0.3, "scored {s}");
    }

    #[test]
    fn multi_part_coding_and_proof_tasks_score_high() {
        for text in [CODING_TASK, PROOF_TASK] {
            let s = complexity(text);
            assert!(s > 0.8, "{text:?} scored {s}");
        }
    }

    #[test]
    fn each_feature_raises_the_score() {
        let base = complexity("Tell me about the weather.");
        let more = [
            "Tell me about the weather.\n```\nlet x = 1;\nlet y = 2;\n```",
            "Tell me about the weather. x^2 + y^2 = z^2, a = b + c",
            "Tell me about the weather.\n- one\n- two\n- three\n- four",
            "Tell me about the weather? And the tides? And the moon? And you?",
            "Tell me about the weather. Погода сегодня хорошая. 今日はいい天気です",
            "Tell me about the weather step by step.",
            &"Tell me about the weather. ".repeat(60),
        ];
        for text in more {
            let s = complexity(text);
            assert!(s > base + 0.05, "{text:?} scored {s} against {base}");
        }
    }

    #[test]
    fn cue_words_need_a_word_start_and_whole_words_an_end() {
        assert_eq!(Features::of("improve the planet").cues, 0);
        assert_ne!(Features::of("Analysis of the plan").cues, 0);
        assert_eq!(Features::of("Analysis of the plan").cues.count_ones(), 2);
        assert_ne!(Features::of("PROVE IT").cues, 0);
    }

    #[test]
    fn is_deterministic_and_bounded() {
        let big = CODING_TASK.repeat(50);
        assert_eq!(complexity(&big), complexity(&big));
        assert!((0.0..=1.0).contains(&complexity(&big)));
        assert_eq!(complexity(""), 0.0);
    }

    #[test]
    fn past_the_token_bound_the_score_is_skipped() {
        let (tokens, score) = tokens_and_complexity(CODING_TASK, "gpt-4o", 10);
        assert!(tokens > 10);
        assert_eq!(score, None);
        let (tokens, score) = tokens_and_complexity(CODING_TASK, "gpt-4o", usize::MAX);
        assert_eq!(tokens, encoding_for_model("gpt-4o").count(CODING_TASK));
        assert_eq!(score, Some(complexity(CODING_TASK)));
    }

    #[test]
    fn features_are_counted() {
        let f = Features::of(CODING_TASK);
        assert_eq!(f.list_items, 3);
        assert_eq!(f.questions, 2);
        assert!(f.code_lines >= 4, "{f:?}");
        assert_eq!(f.scripts, 1);
        assert!(f.words > 60, "{f:?}");
    }
}
