//! Thin Python wrappers. Matches carry offsets, never values: Python gets a value only by
//! slicing its own string, so no repr, log line or exception can leak one by accident.

use pyo3::prelude::*;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::detectors::RuleSet;
use super::kinds::{KindId, Span};
use super::mask;
use super::redact::{Numbering, Replacer, Style};
use super::stream::{self, to_chars, CharMatch};
use crate::errors::CoreError;

/// Below this many bytes, releasing the GIL costs more than it frees.
const DETACH_THRESHOLD: usize = 16 * 1024;

#[pyclass(name = "Match", module = "palisade._core", frozen, eq, hash)]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PyMatch {
    #[pyo3(get)]
    kind: String,
    #[pyo3(get)]
    category: &'static str,
    #[pyo3(get)]
    start: usize,
    #[pyo3(get)]
    end: usize,
}

#[pymethods]
impl PyMatch {
    fn __repr__(&self) -> String {
        format!(
            "Match(kind='{}', category='{}', start={}, end={})",
            self.kind, self.category, self.start, self.end
        )
    }
}

fn py_matches(rules: &RuleSet, ms: &[CharMatch]) -> Vec<PyMatch> {
    ms.iter()
        .map(|m| {
            let k = &rules.kinds[m.kind as usize];
            PyMatch {
                kind: k.name.clone(),
                category: k.category.as_str(),
                start: m.start,
                end: m.end,
            }
        })
        .collect()
}

fn counts_of(rules: &RuleSet, spans: impl Iterator<Item = KindId>) -> HashMap<String, u32> {
    let mut out = HashMap::new();
    for k in spans {
        *out.entry(rules.kinds[k as usize].name.clone()).or_insert(0) += 1;
    }
    out
}

#[pyclass(name = "Redaction", module = "palisade._core", frozen)]
pub struct PyRedaction {
    #[pyo3(get)]
    text: String,
    #[pyo3(get)]
    matches: Vec<PyMatch>,
    #[pyo3(get)]
    counts: HashMap<String, u32>,
}

#[pymethods]
impl PyRedaction {
    fn __repr__(&self) -> String {
        format!(
            "Redaction(matches={}, chars={})",
            self.matches.len(),
            self.text.chars().count()
        )
    }
}

fn selection(rules: &RuleSet, kinds: Option<Vec<String>>) -> PyResult<Option<Vec<bool>>> {
    let Some(kinds) = kinds else { return Ok(None) };
    let mut sel = vec![false; rules.kinds.len()];
    for name in &kinds {
        let group = match name.as_str() {
            "pii" => Some("pii"),
            "secret" | "secrets" => Some("secret"),
            "custom" => Some("custom"),
            _ => None,
        };
        if let Some(g) = group {
            for (i, k) in rules.kinds.iter().enumerate() {
                sel[i] |= k.category.as_str() == g;
            }
            continue;
        }
        match rules.kind_id(name) {
            Some(id) => sel[id as usize] = true,
            None => {
                return Err(CoreError::InvalidInput(format!(
                    "unknown kind {name:?}; this scanner knows: {}",
                    rules
                        .kinds
                        .iter()
                        .map(|k| k.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
                .into())
            }
        }
    }
    Ok(Some(sel))
}

fn maybe_detach<T: Send>(py: Python<'_>, len: usize, f: impl FnOnce() -> T + Send) -> T {
    if len >= DETACH_THRESHOLD {
        py.detach(f)
    } else {
        f()
    }
}

/// One compiled rule set; build it once per config and share it.
#[pyclass(name = "Scanner", module = "palisade._core", frozen)]
pub struct PyScanner {
    rules: Arc<RuleSet>,
    streams: stream::StreamRules,
}

#[pymethods]
impl PyScanner {
    #[new]
    #[pyo3(signature = (entities=None, custom_patterns=None, keywords=None, admin_tokens=None))]
    fn new(
        entities: Option<Vec<String>>,
        custom_patterns: Option<HashMap<String, String>>,
        keywords: Option<HashMap<String, Vec<String>>>,
        admin_tokens: Option<Vec<String>>,
    ) -> PyResult<Self> {
        // Sorted so that kind ids, and so placeholder order ties, do not depend on dict order.
        let mut custom: Vec<(String, String)> =
            custom_patterns.unwrap_or_default().into_iter().collect();
        custom.sort();
        let mut kw: Vec<(String, Vec<String>)> = keywords.unwrap_or_default().into_iter().collect();
        kw.sort();
        let rules = RuleSet::new(
            entities.as_deref(),
            &custom,
            &kw,
            &admin_tokens.unwrap_or_default(),
        )?;
        let rules = Arc::new(rules);
        Ok(PyScanner {
            streams: stream::StreamRules::new(Arc::clone(&rules)),
            rules,
        })
    }

    /// Names of every kind this scanner reports (built-ins that are on, then custom rules).
    #[getter]
    fn kinds(&self) -> Vec<String> {
        self.rules
            .enabled_names()
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    fn scan(&self, py: Python<'_>, text: &str) -> Vec<PyMatch> {
        let rules = &*self.rules;
        let ms = maybe_detach(py, text.len(), || to_chars(text, 0, 0, &rules.scan(text)));
        py_matches(rules, &ms)
    }

    #[pyo3(signature = (text, style="placeholder", kinds=None, mask_text="[REDACTED]"))]
    fn redact(
        &self,
        py: Python<'_>,
        text: &str,
        style: &str,
        kinds: Option<Vec<String>>,
        mask_text: &str,
    ) -> PyResult<PyRedaction> {
        let style = Style::parse(style, mask_text)?;
        let sel = selection(&self.rules, kinds)?;
        let rules = &*self.rules;
        let (out, spans, ms) = maybe_detach(py, text.len(), || {
            let spans: Vec<Span> = rules.scan(text);
            let mut out = String::with_capacity(text.len());
            let mut numbering = Numbering::default();
            let mut r = Replacer {
                kinds: &rules.kinds,
                style: &style,
                numbering: &mut numbering,
            };
            r.apply(
                text,
                0,
                &spans,
                |k| sel.as_ref().map_or(true, |s| s[k as usize]),
                &mut out,
            );
            let ms = to_chars(text, 0, 0, &spans);
            (out, spans, ms)
        });
        Ok(PyRedaction {
            text: out,
            matches: py_matches(rules, &ms),
            counts: counts_of(rules, spans.iter().map(|s| s.kind)),
        })
    }

    #[pyo3(signature = (style="placeholder", kinds=None, mask_text="[REDACTED]"))]
    fn stream(
        &self,
        style: &str,
        kinds: Option<Vec<String>>,
        mask_text: &str,
    ) -> PyResult<PyStreamRedactor> {
        let style = Style::parse(style, mask_text)?;
        let sel = selection(&self.rules, kinds)?;
        let inner = stream::StreamRedactor::new(&self.streams, style, sel)?;
        Ok(PyStreamRedactor {
            rules: Arc::clone(&self.rules),
            inner: Mutex::new(inner),
        })
    }

    #[pyo3(signature = (kinds=None))]
    fn masker(&self, kinds: Option<Vec<String>>) -> PyResult<PyMasker> {
        let sel = selection(&self.rules, kinds)?;
        Ok(PyMasker {
            rules: Arc::clone(&self.rules),
            inner: Mutex::new(mask::Masker::new(Arc::clone(&self.rules), sel)),
        })
    }

    fn __repr__(&self) -> String {
        format!("Scanner(kinds={})", self.rules.enabled_names().len())
    }
}

#[pyclass(name = "StreamRedactor", module = "palisade._core", frozen)]
pub struct PyStreamRedactor {
    rules: Arc<RuleSet>,
    inner: Mutex<stream::StreamRedactor>,
}

#[pymethods]
impl PyStreamRedactor {
    fn feed(&self, py: Python<'_>, chunk: &str) -> String {
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let s: &mut stream::StreamRedactor = &mut guard;
        maybe_detach(py, chunk.len(), || s.feed(chunk))
    }

    fn finish(&self) -> String {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .finish()
    }

    /// Detections released since the previous call, in character offsets of the whole stream.
    fn take_matches(&self) -> Vec<PyMatch> {
        let ms = self
            .inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take_matches();
        py_matches(&self.rules, &ms)
    }

    /// Detections released so far, per kind.
    #[getter]
    fn counts(&self) -> HashMap<String, u32> {
        let g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.counts()
            .map(|(k, c)| (self.rules.kinds[k as usize].name.clone(), c))
            .collect()
    }

    /// Bytes (UTF-8) received but not yet released.
    #[getter]
    fn held(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .held_bytes()
    }
}

#[pyclass(name = "Masker", module = "palisade._core", frozen)]
pub struct PyMasker {
    rules: Arc<RuleSet>,
    inner: Mutex<mask::Masker>,
}

#[pymethods]
impl PyMasker {
    fn mask(&self, py: Python<'_>, text: &str) -> PyRedaction {
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let m: &mut mask::Masker = &mut guard;
        let (out, spans) = maybe_detach(py, text.len(), || m.mask(text));
        let ms = to_chars(text, 0, 0, &spans);
        PyRedaction {
            text: out,
            matches: py_matches(&self.rules, &ms),
            counts: counts_of(&self.rules, spans.iter().map(|s| s.kind)),
        }
    }

    fn unmask(&self, py: Python<'_>, text: &str) -> String {
        let guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let m: &mask::Masker = &guard;
        maybe_detach(py, text.len(), || m.unmask(text))
    }

    fn unmask_stream(&self) -> PyUnmasker {
        let u = self
            .inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .unmasker();
        PyUnmasker {
            inner: Mutex::new(u),
        }
    }

    fn __len__(&self) -> usize {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    fn __repr__(&self) -> String {
        format!("Masker(placeholders={})", self.__len__())
    }
}

#[pyclass(name = "Unmasker", module = "palisade._core", frozen)]
pub struct PyUnmasker {
    inner: Mutex<mask::Unmasker>,
}

#[pymethods]
impl PyUnmasker {
    fn feed(&self, chunk: &str) -> String {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .feed(chunk)
    }

    fn finish(&self) -> String {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .finish()
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyMatch>()?;
    m.add_class::<PyRedaction>()?;
    m.add_class::<PyScanner>()?;
    m.add_class::<PyStreamRedactor>()?;
    m.add_class::<PyMasker>()?;
    m.add_class::<PyUnmasker>()?;
    Ok(())
}
