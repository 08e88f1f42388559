//! Thin Python wrapper; all logic lives in `scan` and `keys`.

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use super::scan::{json_shape, Fault};

/// Measured: ~1 GB/s on text dense with escapes or brackets, 10 to 60 GB/s on prose, against
/// ~0.3 µs for a GIL hand-over; from here on the scan takes several µs even at its fastest
/// (the same threshold as the SSE parser and the scanner).
const DETACH_THRESHOLD: usize = 16 * 1024;

/// Why a body failed the shape check. Only built for a failing body: a passing one costs
/// Python nothing but `None`.
#[pyclass(name = "ShapeFault", module = "palisade._core", frozen, get_all)]
pub struct PyShapeFault {
    kind: &'static str,
    key: Option<String>,
    offset: usize,
}

#[pymethods]
impl PyShapeFault {
    fn __repr__(&self) -> String {
        match &self.key {
            Some(key) => format!(
                "ShapeFault(kind={:?}, key={key:?}, offset={})",
                self.kind, self.offset
            ),
            None => format!("ShapeFault(kind={:?}, offset={})", self.kind, self.offset),
        }
    }
}

impl From<Fault> for PyShapeFault {
    fn from(fault: Fault) -> Self {
        let (kind, key, offset) = match fault {
            Fault::TooDeep { at } => ("too_deep", None, at),
            Fault::DuplicateKey { at, key } => (
                "duplicate_key",
                Some(String::from_utf8_lossy(&key).into_owned()),
                at,
            ),
            Fault::NulEscape { at } => ("nul_escape", None, at),
        };
        PyShapeFault { kind, key, offset }
    }
}

#[pyfunction(name = "json_shape")]
fn py_json_shape(
    py: Python<'_>,
    data: &Bound<'_, PyBytes>,
    max_depth: usize,
) -> Option<PyShapeFault> {
    let bytes = data.as_bytes();
    let shape = if bytes.len() >= DETACH_THRESHOLD {
        py.detach(|| json_shape(bytes, max_depth))
    } else {
        json_shape(bytes, max_depth)
    };
    shape.err().map(PyShapeFault::from)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyShapeFault>()?;
    m.add_function(wrap_pyfunction!(py_json_shape, m)?)?;
    Ok(())
}
