//! Thin Python wrappers; all logic lives in `score` and `normalize`.

use super::normalize::normalize;
use super::score::{score, DEFAULT_THRESHOLD};
use pyo3::prelude::*;

/// Below this many bytes the work is shorter than releasing and re-taking the GIL.
const DETACH_THRESHOLD: usize = 4096;

#[pyclass(name = "InjectionResult", module = "palisade._core", frozen, get_all)]
pub struct PyInjectionResult {
    score: f64,
    signals: Vec<String>,
}

#[pymethods]
impl PyInjectionResult {
    fn __repr__(&self) -> String {
        format!(
            "InjectionResult(score={:.3}, signals={:?})",
            self.score, self.signals
        )
    }
}

#[pyfunction]
fn score_injection(py: Python<'_>, text: &str) -> PyInjectionResult {
    let result = if text.len() >= DETACH_THRESHOLD {
        py.detach(|| score(text))
    } else {
        score(text)
    };
    PyInjectionResult {
        score: result.score,
        signals: result.signals.into_iter().map(str::to_owned).collect(),
    }
}

#[pyfunction]
fn normalize_for_injection(py: Python<'_>, text: &str) -> String {
    if text.len() >= DETACH_THRESHOLD {
        py.detach(|| normalize(text).text)
    } else {
        normalize(text).text
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyInjectionResult>()?;
    m.add_function(wrap_pyfunction!(score_injection, m)?)?;
    m.add_function(wrap_pyfunction!(normalize_for_injection, m)?)?;
    m.add("INJECTION_DEFAULT_THRESHOLD", DEFAULT_THRESHOLD)?;
    Ok(())
}
