//! `palisade._core`: the gateway's hot path. This file only wires modules; each module owns
//! its pure-Rust logic and registers its own thin Python wrappers.

use pyo3::prelude::*;

pub mod errors;
pub mod sse;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    sse::register(m)?;
    Ok(())
}
