//! PII and secret scanning: one compiled rule set per config, typed matches, redaction,
//! a streaming redactor that holds back only what could still become a match, and reversible
//! masking for one request.

pub mod detectors;
pub mod kinds;
pub mod mask;
pub mod prefilter;
mod py;
pub mod redact;
pub mod stream;
pub mod validators;

pub use py::register;
