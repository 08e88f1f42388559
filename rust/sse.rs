//! Incremental Server-Sent Events parser following the WHATWG event-stream rules.
//!
//! Bytes arrive in arbitrary chunks from the network, so every piece of state that can straddle
//! a chunk boundary (a partial line, a CR whose LF may open the next chunk, a BOM cut in two)
//! lives in `SseParser`. Lines are split on raw CR/LF bytes before UTF-8 decoding, which is safe
//! because neither byte can occur inside a multi-byte UTF-8 sequence.

use memchr::memchr2;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};
use std::sync::Mutex;

const BOM: &[u8] = b"\xEF\xBB\xBF";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub event: String,
    pub data: String,
    pub id: String,
    pub retry: Option<u64>,
}

#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    /// The previous chunk ended in CR: an LF at the start of the next chunk belongs to it.
    skip_lf: bool,
    /// Bytes seen so far while deciding whether the stream opens with a BOM.
    bom_probe: Option<Vec<u8>>,
    data: String,
    has_data: bool,
    event: String,
    last_id: String,
    retry: Option<u64>,
    /// Any field seen since the last dispatch: tells `finish` whether an event was cut off.
    dirty: bool,
}

impl SseParser {
    pub fn new() -> Self {
        SseParser {
            bom_probe: Some(Vec::with_capacity(3)),
            ..Default::default()
        }
    }

    /// Feeds one network chunk; returns the events completed by it, in order.
    pub fn feed(&mut self, mut chunk: &[u8]) -> Vec<Event> {
        let mut out = Vec::new();
        let probe_owned;
        if let Some(probe) = self.bom_probe.as_mut() {
            let need = BOM.len() - probe.len();
            let take = need.min(chunk.len());
            probe.extend_from_slice(&chunk[..take]);
            chunk = &chunk[take..];
            if probe.len() < BOM.len() && BOM.starts_with(probe) {
                return out;
            }
            let probe = self.bom_probe.take().unwrap_or_default();
            if probe != BOM {
                // Not a BOM: the probed bytes are ordinary stream bytes.
                probe_owned = probe;
                self.consume(&probe_owned, &mut out);
            }
        }
        self.consume(chunk, &mut out);
        out
    }

    /// End of stream. An unfinished event is discarded, as the spec requires; the return value
    /// says whether there was one, which is how a caller notices a truncated stream.
    pub fn finish(&mut self) -> bool {
        let truncated = self.dirty
            || !self.line.is_empty()
            || self.bom_probe.as_ref().is_some_and(|p| !p.is_empty());
        *self = SseParser::new();
        truncated
    }

    fn consume(&mut self, mut chunk: &[u8], out: &mut Vec<Event>) {
        if self.skip_lf && !chunk.is_empty() {
            self.skip_lf = false;
            if chunk[0] == b'\n' {
                chunk = &chunk[1..];
            }
        }
        while let Some(pos) = memchr2(b'\r', b'\n', chunk) {
            let line_end = &chunk[..pos];
            if self.line.is_empty() {
                self.process_line(line_end, out);
            } else {
                let mut line = std::mem::take(&mut self.line);
                line.extend_from_slice(line_end);
                self.process_line(&line, out);
                line.clear();
                self.line = line;
            }
            let mut next = pos + 1;
            if chunk[pos] == b'\r' {
                if next < chunk.len() {
                    if chunk[next] == b'\n' {
                        next += 1;
                    }
                } else {
                    self.skip_lf = true;
                }
            }
            chunk = &chunk[next..];
        }
        self.line.extend_from_slice(chunk);
    }

    fn process_line(&mut self, line: &[u8], out: &mut Vec<Event>) {
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        if line[0] == b':' {
            return;
        }
        let (field, value) = match memchr::memchr(b':', line) {
            Some(i) => {
                let value = &line[i + 1..];
                (&line[..i], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        match field {
            b"data" => {
                push_lossy(&mut self.data, value);
                self.data.push('\n');
                self.has_data = true;
                self.dirty = true;
            }
            b"event" => {
                self.event.clear();
                push_lossy(&mut self.event, value);
                self.dirty = true;
            }
            b"id" => {
                if !value.contains(&0) {
                    self.last_id.clear();
                    push_lossy(&mut self.last_id, value);
                }
                self.dirty = true;
            }
            b"retry" => {
                if !value.is_empty() && value.iter().all(u8::is_ascii_digit) {
                    // Digits only, per spec; absurdly long values saturate instead of wrapping.
                    self.retry = Some(value.iter().fold(0u64, |acc, d| {
                        acc.saturating_mul(10).saturating_add(u64::from(d - b'0'))
                    }));
                }
                self.dirty = true;
            }
            _ => {}
        }
    }

    fn dispatch(&mut self, out: &mut Vec<Event>) {
        self.dirty = false;
        let retry = self.retry.take();
        let event = std::mem::take(&mut self.event);
        if !self.has_data {
            self.data.clear();
            return;
        }
        self.has_data = false;
        let mut data = std::mem::take(&mut self.data);
        data.pop(); // the spec drops the final LF appended after the last data line
        out.push(Event {
            event: if event.is_empty() {
                "message".to_owned()
            } else {
                event
            },
            data,
            id: self.last_id.clone(),
            retry,
        });
    }
}

/// `String::from_utf8_lossy` walks its input chunk by chunk and was the top entry in profiles of
/// a chat stream; the validator behind `str::from_utf8` is several times faster on the valid text
/// that streams almost always carry, so it goes first.
fn push_lossy(dst: &mut String, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(text) => dst.push_str(text),
        Err(_) => dst.push_str(&String::from_utf8_lossy(bytes)),
    }
}

/// Parses a whole stream in one go; the reference behaviour that chunked feeding must match.
pub fn parse_all(stream: &[u8]) -> Vec<Event> {
    let mut parser = SseParser::new();
    let events = parser.feed(stream);
    parser.finish();
    events
}

// ---- Python wrappers -------------------------------------------------------------------------

/// Chunks smaller than this parse faster than a GIL release/re-acquire round trip costs.
const DETACH_THRESHOLD: usize = 16 * 1024;

/// Fields are Python strings made once per event, so reading `.data` costs a reference count,
/// not a copy and a UTF-8 decode on every access.
#[pyclass(name = "SseEvent", module = "palisade._core", frozen, get_all)]
pub struct PySseEvent {
    event: Py<PyString>,
    data: Py<PyString>,
    id: Py<PyString>,
    retry: Option<u64>,
}

impl PySseEvent {
    /// An event parsed from another framing (the AWS event stream): no id, no retry.
    pub fn make(py: Python<'_>, event: &str, data: &str) -> Self {
        PySseEvent {
            event: PyString::new(py, event).unbind(),
            data: PyString::new(py, data).unbind(),
            id: intern!(py, "").clone().unbind(),
            retry: None,
        }
    }
}

#[pymethods]
impl PySseEvent {
    /// For parsers written in Python over another framing (an envelope around SSE events).
    #[new]
    #[pyo3(signature = (event, data, id = String::new(), retry = None))]
    fn new(py: Python<'_>, event: &str, data: &str, id: String, retry: Option<u64>) -> Self {
        PySseEvent {
            event: PyString::new(py, event).unbind(),
            data: PyString::new(py, data).unbind(),
            id: PyString::new(py, &id).unbind(),
            retry,
        }
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "SseEvent(event={:?}, data={:?}, id={:?}, retry={:?})",
            self.event.bind(py).to_string_lossy(),
            self.data.bind(py).to_string_lossy(),
            self.id.bind(py).to_string_lossy(),
            self.retry
        )
    }
}

/// Builds the Python events of one `feed`. The default event name is interned and the last id,
/// which repeats on every event until the server sends a new one, is converted once.
fn to_python(py: Python<'_>, events: Vec<Event>) -> Vec<PySseEvent> {
    let mut last_id: Option<(String, Py<PyString>)> = None;
    events
        .into_iter()
        .map(|e| {
            let event = if e.event == "message" {
                intern!(py, "message").clone().unbind()
            } else {
                PyString::new(py, &e.event).unbind()
            };
            let id = match &last_id {
                Some((text, obj)) if *text == e.id => obj.clone_ref(py),
                _ => {
                    let obj = PyString::new(py, &e.id).unbind();
                    last_id = Some((e.id, obj.clone_ref(py)));
                    obj
                }
            };
            PySseEvent {
                event,
                data: PyString::new(py, &e.data).unbind(),
                id,
                retry: e.retry,
            }
        })
        .collect()
}

#[pyclass(name = "SseParser", module = "palisade._core", frozen)]
pub struct PySseParser {
    inner: Mutex<SseParser>,
}

#[pymethods]
impl PySseParser {
    #[new]
    fn new() -> Self {
        PySseParser {
            inner: Mutex::new(SseParser::new()),
        }
    }

    fn feed(&self, py: Python<'_>, chunk: &Bound<'_, PyBytes>) -> Vec<PySseEvent> {
        let bytes = chunk.as_bytes();
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let parser: &mut SseParser = &mut guard;
        let events = if bytes.len() >= DETACH_THRESHOLD {
            py.detach(|| parser.feed(bytes))
        } else {
            parser.feed(bytes)
        };
        to_python(py, events)
    }

    fn finish(&self) -> bool {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .finish()
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySseEvent>()?;
    m.add_class::<PySseParser>()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(data: &str) -> Event {
        Event {
            event: "message".into(),
            data: data.into(),
            id: String::new(),
            retry: None,
        }
    }

    #[test]
    fn line_endings_of_every_kind() {
        assert_eq!(
            parse_all(b"data: a\r\n\r\ndata: b\r\rdata: c\n\n"),
            vec![ev("a"), ev("b"), ev("c")]
        );
    }

    #[test]
    fn cr_at_chunk_end_and_lf_at_next_start_is_one_line_break() {
        let mut p = SseParser::new();
        assert!(p.feed(b"data: a\r").is_empty());
        assert_eq!(p.feed(b"\n\r\n"), vec![ev("a")]);
    }

    #[test]
    fn multi_line_data_comments_fields() {
        let got = parse_all(b":comment\nevent: add\ndata: 1\ndata:2\nid: 7\nretry: 15\n\n");
        assert_eq!(
            got,
            vec![Event {
                event: "add".into(),
                data: "1\n2".into(),
                id: "7".into(),
                retry: Some(15)
            }]
        );
    }

    #[test]
    fn retry_with_non_digits_is_ignored_and_id_persists() {
        let got = parse_all(b"id: x\nretry: 1a\ndata: a\n\ndata: b\n\n");
        assert_eq!(got[0].retry, None);
        assert_eq!(got[1].id, "x");
    }

    #[test]
    fn bom_split_across_chunks_is_removed_once() {
        let mut p = SseParser::new();
        assert!(p.feed(b"\xEF").is_empty());
        assert!(p.feed(b"\xBB").is_empty());
        assert_eq!(p.feed(b"\xBFdata: a\n\n"), vec![ev("a")]);
        assert_eq!(parse_all(b"\xEF\xBB\xBF\xEF\xBB\xBFdata: a\n\n"), vec![]);
    }

    #[test]
    fn unfinished_event_is_discarded_at_eof() {
        let mut p = SseParser::new();
        assert_eq!(p.feed(b"data: a\n\ndata: b\n"), vec![ev("a")]);
        assert!(p.finish());
        assert!(!SseParser::new().finish());
    }

    #[test]
    fn empty_data_block_dispatches_nothing() {
        assert_eq!(parse_all(b"event: x\n\ndata\n\n"), vec![ev("")]);
    }

    #[test]
    fn every_split_matches_whole() {
        let stream: &[u8] = b"\xEF\xBB\xBFdata: {\"a\":1}\r\n\r\n:c\revent: e\rdata: x\r\rid: 9\ndata: \xC3\xA9\n\n";
        let whole = parse_all(stream);
        assert_eq!(whole.len(), 3);
        for i in 0..=stream.len() {
            for j in i..=stream.len() {
                let mut p = SseParser::new();
                let mut got = p.feed(&stream[..i]);
                got.extend(p.feed(&stream[i..j]));
                got.extend(p.feed(&stream[j..]));
                assert_eq!(got, whole, "split at {i},{j}");
            }
        }
    }
}
