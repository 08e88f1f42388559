//! Prompt-injection scoring: normalize away obfuscation, match weighted signals of known attack
//! families, combine them into a score in [0, 1].

pub mod normalize;
mod py;
pub mod score;
pub mod signals;

pub use py::register;
pub use score::{score, InjectionScore, DEFAULT_THRESHOLD};
