//! The one place where Rust errors become Python exceptions.

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::PyErr;
use std::fmt;

/// Every fallible operation inside the crate returns this; only `From<CoreError> for PyErr`
/// decides which Python exception a caller sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoreError {
    /// The caller passed something we cannot work with (bad pattern, unknown encoding, ...).
    InvalidInput(String),
    /// A broken invariant inside the extension; surfaced rather than panicking across FFI.
    Internal(String),
}

impl fmt::Display for CoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CoreError::InvalidInput(msg) | CoreError::Internal(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for CoreError {}

impl From<CoreError> for PyErr {
    fn from(err: CoreError) -> PyErr {
        match err {
            CoreError::InvalidInput(msg) => PyValueError::new_err(msg),
            CoreError::Internal(msg) => PyRuntimeError::new_err(msg),
        }
    }
}

pub type CoreResult<T> = Result<T, CoreError>;
