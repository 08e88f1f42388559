//! The one place where Rust errors become Python exceptions.

use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyRuntimeError, PyValueError};
use pyo3::PyErr;
use std::fmt;

create_exception!(
    _core,
    SqliteError,
    PyException,
    "A SQLite write failed (locked too long, read-only, disk full, ...)."
);

/// Every fallible operation inside the crate returns this; only `From<CoreError> for PyErr`
/// decides which Python exception a caller sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoreError {
    /// The caller passed something we cannot work with (bad pattern, unknown encoding, ...).
    InvalidInput(String),
    /// A broken invariant inside the extension; surfaced rather than panicking across FFI.
    Internal(String),
    /// SQLite refused or failed a statement; the message is SQLite's.
    Sqlite(String),
}

impl fmt::Display for CoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CoreError::InvalidInput(msg) | CoreError::Internal(msg) | CoreError::Sqlite(msg) => {
                f.write_str(msg)
            }
        }
    }
}

impl std::error::Error for CoreError {}

impl From<CoreError> for PyErr {
    fn from(err: CoreError) -> PyErr {
        match err {
            CoreError::InvalidInput(msg) => PyValueError::new_err(msg),
            CoreError::Internal(msg) => PyRuntimeError::new_err(msg),
            CoreError::Sqlite(msg) => SqliteError::new_err(msg),
        }
    }
}

impl From<rusqlite::Error> for CoreError {
    fn from(err: rusqlite::Error) -> CoreError {
        CoreError::Sqlite(err.to_string())
    }
}

pub type CoreResult<T> = Result<T, CoreError>;
