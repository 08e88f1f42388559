//! The AWS binary event-stream framing (`application/vnd.amazon.eventstream`), both ways.
//!
//! A message is a prelude (total length, headers length, both u32 big-endian, and the CRC32 of
//! those 8 bytes), headers (`u8` name length, name, `u8` type, value), the payload and the CRC32
//! of everything before it. Bedrock's streams name each message with `:message-type` (`event`,
//! `exception` or `error`) and `:event-type` / `:exception-type` / `:error-code`; the payload is
//! JSON. A parsed message becomes an `SseEvent` (name, payload text) so that the relay handles
//! it like an SSE event; an exception is named by its type (they all end in `Exception`).
//!
//! A frame that breaks the format (a CRC mismatch, a length out of bounds) ends the parse: no
//! event after it is trusted, and `finish` reports the stream as cut off.

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::sync::Mutex;

use crate::sse::PySseEvent;

const PRELUDE: usize = 12;
const MIN_MESSAGE: usize = PRELUDE + 4;
// botocore's limits (eventstream.py): a longer message is a broken stream.
const MAX_MESSAGE: usize = 16 * 1024 * 1024;
const MAX_HEADERS: usize = 128 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// `:event-type`, `:exception-type` or `:error-code`, by `:message-type`.
    pub name: String,
    pub message_type: String,
    pub payload: Vec<u8>,
}

#[derive(Debug, Default)]
pub struct Parser {
    buf: Vec<u8>,
    broken: bool,
}

impl Parser {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn feed(&mut self, chunk: &[u8]) -> Vec<Message> {
        let mut out = Vec::new();
        if self.broken {
            return out;
        }
        self.buf.extend_from_slice(chunk);
        let mut at = 0;
        while self.buf.len() - at >= PRELUDE {
            match parse_one(&self.buf[at..]) {
                Ok(Some((message, used))) => {
                    out.push(message);
                    at += used;
                }
                Ok(None) => break,
                Err(()) => {
                    self.broken = true;
                    self.buf.clear();
                    return out;
                }
            }
        }
        self.buf.drain(..at);
        out
    }

    /// End of stream: true when it stopped inside a message or broke the format.
    pub fn finish(&mut self) -> bool {
        let cut = self.broken || !self.buf.is_empty();
        *self = Parser::new();
        cut
    }
}

fn be32(b: &[u8]) -> usize {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize
}

/// One message from the head of `buf`: `None` when it is not all there yet.
#[allow(clippy::result_unit_err)]
pub fn parse_one(buf: &[u8]) -> Result<Option<(Message, usize)>, ()> {
    let total = be32(buf);
    let headers_len = be32(&buf[4..]);
    if crc32fast::hash(&buf[..8]) != be32(&buf[8..]) as u32 {
        return Err(());
    }
    if !(MIN_MESSAGE..=MAX_MESSAGE).contains(&total)
        || headers_len > MAX_HEADERS
        || PRELUDE + headers_len + 4 > total
    {
        return Err(());
    }
    if buf.len() < total {
        return Ok(None);
    }
    let body = &buf[..total - 4];
    if crc32fast::hash(body) != be32(&buf[total - 4..]) as u32 {
        return Err(());
    }
    let headers = &buf[PRELUDE..PRELUDE + headers_len];
    let (mut event_type, mut message_type, mut exception_type, mut error_code) =
        (None, None, None, None);
    let mut i = 0;
    while i < headers.len() {
        let name_len = headers[i] as usize;
        i += 1;
        let name = headers.get(i..i + name_len).ok_or(())?;
        i += name_len;
        let kind = *headers.get(i).ok_or(())?;
        i += 1;
        let fixed = match kind {
            0 | 1 => 0,
            2 => 1,
            3 => 2,
            4 => 4,
            5 | 8 => 8,
            9 => 16,
            6 | 7 => {
                let len = headers.get(i..i + 2).ok_or(())?;
                let len = u16::from_be_bytes([len[0], len[1]]) as usize;
                i += 2;
                let value = headers.get(i..i + len).ok_or(())?;
                i += len;
                if kind == 7 {
                    let value = std::str::from_utf8(value).map_err(|_| ())?;
                    match name {
                        b":event-type" => event_type = Some(value),
                        b":message-type" => message_type = Some(value),
                        b":exception-type" => exception_type = Some(value),
                        b":error-code" => error_code = Some(value),
                        _ => {}
                    }
                }
                continue;
            }
            _ => return Err(()),
        };
        if i + fixed > headers.len() {
            return Err(());
        }
        i += fixed;
    }
    let message_type = message_type.unwrap_or("event");
    let name = match message_type {
        "exception" => exception_type,
        "error" => error_code,
        _ => event_type,
    }
    .unwrap_or("");
    Ok(Some((
        Message {
            name: name.to_owned(),
            message_type: message_type.to_owned(),
            payload: body[PRELUDE + headers_len..].to_vec(),
        },
        total,
    )))
}

fn push_header(out: &mut Vec<u8>, name: &str, value: &str) {
    out.push(name.len() as u8);
    out.extend_from_slice(name.as_bytes());
    out.push(7);
    out.extend_from_slice(&(value.len() as u16).to_be_bytes());
    out.extend_from_slice(value.as_bytes());
}

/// One message: `:event-type` (or `:exception-type` for `exception`), JSON content, `payload`.
pub fn frame(message_type: &str, name: &str, payload: &[u8]) -> Vec<u8> {
    let mut headers = Vec::with_capacity(96);
    let name_header = if message_type == "exception" {
        ":exception-type"
    } else {
        ":event-type"
    };
    push_header(&mut headers, name_header, name);
    push_header(&mut headers, ":content-type", "application/json");
    push_header(&mut headers, ":message-type", message_type);
    let total = PRELUDE + headers.len() + payload.len() + 4;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&(total as u32).to_be_bytes());
    out.extend_from_slice(&(headers.len() as u32).to_be_bytes());
    let prelude_crc = crc32fast::hash(&out);
    out.extend_from_slice(&prelude_crc.to_be_bytes());
    out.extend_from_slice(&headers);
    out.extend_from_slice(payload);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

// ---- Python wrappers -------------------------------------------------------------------------

/// A header value is at most u16::MAX bytes: a longer name (never a Bedrock one) is refused.
fn check_name(name: &str) -> PyResult<()> {
    if name.len() > u16::MAX as usize || name.is_empty() {
        return Err(pyo3::exceptions::PyValueError::new_err(
            "an event-stream message name must have 1 to 65535 bytes",
        ));
    }
    Ok(())
}

#[pyclass(name = "EventStreamParser", module = "palisade._core", frozen)]
pub struct PyEventStreamParser {
    inner: Mutex<Parser>,
}

#[pymethods]
impl PyEventStreamParser {
    #[new]
    fn new() -> Self {
        PyEventStreamParser {
            inner: Mutex::new(Parser::new()),
        }
    }

    fn feed(&self, py: Python<'_>, chunk: &Bound<'_, PyBytes>) -> Vec<PySseEvent> {
        let messages = self
            .inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .feed(chunk.as_bytes());
        messages
            .into_iter()
            .map(|m| {
                let data = String::from_utf8_lossy(&m.payload);
                PySseEvent::make(py, &m.name, &data)
            })
            .collect()
    }

    fn finish(&self) -> bool {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .finish()
    }
}

/// An event message for a client: `:event-type` `name`, JSON `payload`.
#[pyfunction]
fn frame_event<'py>(
    py: Python<'py>,
    name: &str,
    payload: &Bound<'py, PyBytes>,
) -> PyResult<Bound<'py, PyBytes>> {
    check_name(name)?;
    Ok(PyBytes::new(py, &frame("event", name, payload.as_bytes())))
}

/// An exception message: `:exception-type` `name` (`throttlingException`), JSON `payload`.
#[pyfunction]
fn frame_exception<'py>(
    py: Python<'py>,
    name: &str,
    payload: &Bound<'py, PyBytes>,
) -> PyResult<Bound<'py, PyBytes>> {
    check_name(name)?;
    Ok(PyBytes::new(
        py,
        &frame("exception", name, payload.as_bytes()),
    ))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyEventStreamParser>()?;
    m.add_function(wrap_pyfunction!(frame_event, m)?)?;
    m.add_function(wrap_pyfunction!(frame_exception, m)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(name: &str, payload: &str) -> Message {
        Message {
            name: name.into(),
            message_type: "event".into(),
            payload: payload.as_bytes().to_vec(),
        }
    }

    #[test]
    fn frame_then_parse_round_trips() {
        let mut stream = frame("event", "messageStart", br#"{"role":"assistant"}"#);
        stream.extend(frame(
            "exception",
            "throttlingException",
            br#"{"message":"slow"}"#,
        ));
        let mut p = Parser::new();
        let got = p.feed(&stream);
        assert_eq!(got[0], msg("messageStart", r#"{"role":"assistant"}"#));
        assert_eq!(got[1].name, "throttlingException");
        assert_eq!(got[1].message_type, "exception");
        assert!(!p.finish());
    }

    #[test]
    fn known_frame_bytes() {
        // The prelude of a message with no headers and no payload: total 16, CRC of 8 bytes.
        let mut raw = vec![0, 0, 0, 16, 0, 0, 0, 0];
        raw.extend_from_slice(&crc32fast::hash(&raw).to_be_bytes());
        raw.extend_from_slice(&crc32fast::hash(&raw).to_be_bytes());
        let (m, used) = parse_one(&raw).unwrap().unwrap();
        assert_eq!(used, 16);
        assert_eq!(m.message_type, "event");
        assert!(m.payload.is_empty());
    }

    #[test]
    fn every_split_matches_whole() {
        let mut stream = frame("event", "contentBlockDelta", br#"{"delta":{"text":"hi"}}"#);
        stream.extend(frame(
            "event",
            "messageStop",
            br#"{"stopReason":"end_turn"}"#,
        ));
        for i in 0..=stream.len() {
            for j in i..=stream.len() {
                let mut p = Parser::new();
                let mut got = p.feed(&stream[..i]);
                got.extend(p.feed(&stream[i..j]));
                got.extend(p.feed(&stream[j..]));
                assert_eq!(got.len(), 2, "split at {i},{j}");
                assert!(!p.finish());
            }
        }
    }

    #[test]
    fn corrupt_crc_breaks_the_stream() {
        let mut stream = frame("event", "messageStart", b"{}");
        let n = stream.len();
        stream[n - 5] ^= 1;
        let mut p = Parser::new();
        assert!(p.feed(&stream).is_empty());
        assert!(p.feed(&frame("event", "messageStop", b"{}")).is_empty());
        assert!(p.finish());
    }

    #[test]
    fn cut_stream_is_reported() {
        let stream = frame("event", "messageStart", b"{}");
        let mut p = Parser::new();
        assert!(p.feed(&stream[..stream.len() - 1]).is_empty());
        assert!(p.finish());
    }

    #[test]
    fn other_header_types_are_skipped() {
        let mut headers = Vec::new();
        headers.extend_from_slice(&[2, b'x', b'y', 4, 0, 0, 0, 9]); // int32
        headers.extend_from_slice(&[1, b'b', 0]); // bool true
        push_header(&mut headers, ":event-type", "metadata");
        let total = PRELUDE + headers.len() + 2 + 4;
        let mut raw = Vec::new();
        raw.extend_from_slice(&(total as u32).to_be_bytes());
        raw.extend_from_slice(&(headers.len() as u32).to_be_bytes());
        raw.extend_from_slice(&crc32fast::hash(&raw).to_be_bytes());
        raw.extend_from_slice(&headers);
        raw.extend_from_slice(b"{}");
        raw.extend_from_slice(&crc32fast::hash(&raw).to_be_bytes());
        assert_eq!(Parser::new().feed(&raw), vec![msg("metadata", "{}")]);
    }
}
