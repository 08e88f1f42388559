//! The firewall's shape check: one byte scan of a request body, before any parser sees it.
//!
//! The gateway judges a body by orjson's parse of it but forwards the client's bytes, so
//! whatever the provider's parser would read differently from orjson is a way round every
//! guardrail. The scan refuses, in one pass:
//!
//! - nesting deeper than a limit: four megabytes of `[` cost a parser milliseconds before it
//!   fails (measured: orjson, 2.6 ms); the scan stops at the first bracket over the limit;
//! - a key repeated in one object, at any depth: orjson keeps the last value, a first-wins
//!   parser the first, so the guardrails would read one `messages` and the provider another.
//!   Keys are compared as a parser decodes them (`"mess\u0061ges"` repeats `"messages"`);
//! - a `\u0000` escape anywhere: orjson (like Python's json and Go's) decodes it, but text that
//!   passes through C strings ends at it, so a provider could read less than was checked.
//!
//! The other differentials are closed by orjson itself, which the firewall runs next, and
//! need nothing here (orjson 3.13, checked by the firewall's tests): a UTF-8 byte order mark,
//! lone surrogate escapes, invalid UTF-8, raw control characters in strings, NaN and
//! Infinity, numbers beyond f64's range, comments, trailing commas and trailing content are
//! all refused. Integers beyond 64 bits are accepted and become the nearest f64, which is what
//! Go's encoding/json (into an interface), serde_json (without arbitrary precision) and
//! JavaScript's JSON.parse read too; only Python's json keeps every digit. No guardrail reads
//! numbers, so that is left as it is.
//!
//! One differential is beyond a scan: Go's encoding/json fills a struct field from a key that
//! matches it only when case is folded (`MESSAGES`, even `meſſages` with a long s), and the
//! last such key wins. Keys that differ are not duplicates, so this is the dialect layer's to
//! refuse, which knows the fields.
//!
//! It is a scan, not a validator: any bytes get an answer, and invalid JSON may get any
//! answer, since orjson refuses it afterwards. Valid JSON gets the exact one.

mod keys;
mod py;
mod scan;

pub use py::register;
pub use scan::{json_shape, Fault};
