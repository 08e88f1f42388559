//! `palisade._core`: the gateway's hot path. This file only wires modules; each module owns
//! its pure-Rust logic and registers its own thin Python wrappers.

use pyo3::prelude::*;

pub mod b64;
pub mod complexity;
pub mod errors;
pub mod eventstream;
pub mod injection;
pub mod json_shape;
pub mod otlp;
pub mod scan;
pub mod sigv4;
pub mod sqlite_batch;
pub mod sse;
pub mod tokens;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    sse::register(m)?;
    tokens::register(m)?;
    scan::register(m)?;
    injection::register(m)?;
    json_shape::register(m)?;
    otlp::register(m)?;
    sqlite_batch::register(m)?;
    eventstream::register(m)?;
    sigv4::register(m)?;
    complexity::register(m)?;
    Ok(())
}
