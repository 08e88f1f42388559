//! OTLP/HTTP JSON for finished spans: one span's text, and a set of attributes.
//!
//! The gateway makes a span per model call. Built through the OpenTelemetry SDK's objects and
//! encoded in Python, a span cost about 12 µs of the event loop's time (most of it the
//! attribute list, a small JSON object per attribute); written here in one pass it costs a
//! fraction of that. The text follows OTLP's JSON mapping: ids in lowercase hex, 64-bit
//! integers as strings, enum values as numbers.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::fmt::Write;
use std::sync::Mutex;

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

/// An attribute value, as OTLP's `AnyValue` has them. Strings are borrowed where they can be
/// (from the Python objects): a span has a dozen, and copying each cost more than writing it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Str(Cow<'a, str>),
    Int(i64),
    Float(f64),
    Bool(bool),
    Array(Vec<Value<'a>>),
}

impl Value<'_> {
    pub fn into_owned(self) -> Value<'static> {
        match self {
            Value::Str(s) => Value::Str(Cow::Owned(s.into_owned())),
            Value::Int(i) => Value::Int(i),
            Value::Float(f) => Value::Float(f),
            Value::Bool(b) => Value::Bool(b),
            Value::Array(values) => {
                Value::Array(values.into_iter().map(Value::into_owned).collect())
            }
        }
    }
}

/// An attribute: its key and value.
pub type Attribute<'a> = (Cow<'a, str>, Value<'a>);

/// A finished span, with OTLP's numbering: `kind` 1 internal .. 5 consumer, `status_code`
/// 0 unset, 1 ok, 2 error.
#[derive(Debug, Clone)]
pub struct Span<'a> {
    pub trace_id: u128,
    pub span_id: u64,
    pub parent_span_id: Option<u64>,
    pub name: &'a str,
    pub kind: u8,
    pub start_ns: u64,
    pub end_ns: u64,
    pub attributes: &'a [Attribute<'a>],
    pub status_code: u8,
    pub status_message: Option<&'a str>,
    pub trace_state: Option<&'a str>,
}

pub fn span_json(span: &Span<'_>) -> String {
    let mut out = String::new();
    write_span(&mut out, span);
    out
}

/// Appends the span's JSON object to `out`.
pub fn write_span(out: &mut String, span: &Span<'_>) {
    out.reserve(256 + 80 * span.attributes.len());
    out.push_str(r#"{"traceId":""#);
    push_hex(out, span.trace_id, 32);
    out.push_str(r#"","spanId":""#);
    push_hex(out, span.span_id.into(), 16);
    out.push('"');
    if let Some(parent) = span.parent_span_id {
        out.push_str(r#","parentSpanId":""#);
        push_hex(out, parent.into(), 16);
        out.push('"');
    }
    out.push_str(r#","name":"#);
    write_str(out, span.name);
    out.push_str(r#","kind":"#);
    push_u64(out, span.kind.into());
    out.push_str(r#","startTimeUnixNano":""#);
    push_u64(out, span.start_ns);
    out.push_str(r#"","endTimeUnixNano":""#);
    push_u64(out, span.end_ns);
    out.push_str(r#"","attributes":["#);
    write_attributes(out, span.attributes);
    out.push_str(r#"],"status":{"code":"#);
    push_u64(out, span.status_code.into());
    if let Some(message) = span.status_message.filter(|m| !m.is_empty()) {
        out.push_str(r#","message":"#);
        write_str(out, message);
    }
    out.push('}');
    if let Some(state) = span.trace_state.filter(|s| !s.is_empty()) {
        out.push_str(r#","traceState":"#);
        write_str(out, state);
    }
    out.push('}');
}

// Ids, times and counts are most of a span's numbers: written by hand, not through
// `core::fmt`, whose padding and dispatch cost more than the digits.

/// `value` as `digits` lowercase hex digits (zero-padded; higher digits are dropped).
fn push_hex(out: &mut String, value: u128, digits: usize) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut buf = [0u8; 32];
    let digits = digits.min(32);
    for (i, slot) in buf[..digits].iter_mut().rev().enumerate() {
        *slot = HEX[((value >> (4 * i)) & 0xf) as usize];
    }
    out.push_str(std::str::from_utf8(&buf[..digits]).unwrap_or_default());
}

fn push_u64(out: &mut String, mut value: u64) {
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(&buf[at..]).unwrap_or_default());
}

fn push_i64(out: &mut String, value: i64) {
    if value < 0 {
        out.push('-');
    }
    push_u64(out, value.unsigned_abs());
}

/// `{"key":..,"value":..}` objects, comma-separated (the caller writes the brackets).
pub fn write_attributes(out: &mut String, attributes: &[Attribute<'_>]) {
    for (i, (key, value)) in attributes.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(r#"{"key":"#);
        write_str(out, key);
        out.push_str(r#","value":"#);
        write_value(out, value);
        out.push('}');
    }
}

fn write_value(out: &mut String, value: &Value<'_>) {
    match value {
        Value::Str(s) => {
            out.push_str(r#"{"stringValue":"#);
            write_str(out, s);
            out.push('}');
        }
        Value::Int(i) => {
            out.push_str(r#"{"intValue":""#);
            push_i64(out, *i);
            out.push_str(r#""}"#);
        }
        Value::Float(f) => {
            // JSON has no NaN or infinities; proto3's JSON mapping spells them as strings.
            if f.is_nan() {
                out.push_str(r#"{"doubleValue":"NaN"}"#);
            } else if f.is_infinite() {
                let sign = if *f < 0.0 { "-" } else { "" };
                let _ = write!(out, r#"{{"doubleValue":"{sign}Infinity"}}"#);
            } else {
                let _ = write!(out, r#"{{"doubleValue":{f:?}}}"#);
            }
        }
        Value::Bool(b) => {
            let _ = write!(out, r#"{{"boolValue":{b}}}"#);
        }
        Value::Array(values) => {
            out.push_str(r#"{"arrayValue":{"values":["#);
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, v);
            }
            out.push_str("]}}");
        }
    }
}

/// A JSON string literal.
pub fn write_str(out: &mut String, s: &str) {
    out.push('"');
    // Attribute values almost never need escaping: one branch-free pass says so (the compiler
    // vectorizes it), and the whole string is copied at once.
    let escapes = s.bytes().fold(false, |any, b| {
        any | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if !escapes {
        out.push_str(s);
        out.push('"');
        return;
    }
    let mut start = 0;
    for (i, byte) in s.bytes().enumerate() {
        let escaped = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if escaped.is_empty() {
            let _ = write!(out, "\\u{byte:04x}");
        } else {
            out.push_str(escaped);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Encoded spans waiting for export, at most `max`, written one after the other into one
/// buffer that is kept from batch to batch: a span costs no allocation of its own, and a batch
/// is copied once, into its request body.
#[derive(Debug)]
pub struct SpanBatcher {
    text: String,
    // Where each queued span ends in `text` (spans are comma-separated there).
    ends: VecDeque<usize>,
    max: usize,
}

impl SpanBatcher {
    pub fn new(max: usize) -> Self {
        SpanBatcher {
            text: String::new(),
            ends: VecDeque::new(),
            max,
        }
    }

    pub fn is_full(&self) -> bool {
        self.ends.len() >= self.max
    }

    /// Queues the span `write` appends; false when the queue is full (the span is dropped and
    /// `write` not called).
    pub fn push_with(&mut self, write: impl FnOnce(&mut String)) -> bool {
        if self.is_full() {
            return false;
        }
        if !self.ends.is_empty() {
            self.text.push(',');
        }
        write(&mut self.text);
        self.ends.push_back(self.text.len());
        true
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The oldest `count` spans at most, comma-separated, and their number.
    pub fn oldest(&self, count: usize) -> (&str, usize) {
        let count = count.min(self.ends.len());
        let end = if count == 0 { 0 } else { self.ends[count - 1] };
        (&self.text[..end], count)
    }

    /// Removes the oldest `count` spans (after `oldest` gave them out).
    pub fn remove(&mut self, count: usize) {
        let count = count.min(self.ends.len());
        if count == 0 {
            return;
        }
        if count == self.ends.len() {
            self.text.clear();
            self.ends.clear();
            return;
        }
        let cut = self.ends[count - 1] + 1; // and the comma after it
        self.text.drain(..cut);
        self.ends.drain(..count);
        for end in self.ends.iter_mut() {
            *end -= cut;
        }
    }
}

/// An export request's body: `head`, the spans (comma-separated already), `tail`.
pub fn write_request_body(out: &mut [u8], head: &str, spans: &str, tail: &str) {
    let (h, rest) = out.split_at_mut(head.len());
    let (s, t) = rest.split_at_mut(spans.len());
    h.copy_from_slice(head.as_bytes());
    s.copy_from_slice(spans.as_bytes());
    t.copy_from_slice(tail.as_bytes());
}

// --- Python ------------------------------------------------------------------------------

fn value_of<'a>(v: &'a Bound<'_, PyAny>) -> PyResult<Value<'a>> {
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(Value::Str(Cow::Borrowed(s.to_str()?)));
    }
    // bool before int: Python's True is an int.
    if let Ok(b) = v.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if v.is_instance_of::<PyInt>() {
        // Beyond 64 bits OTLP has no integer: the decimal text goes as a string.
        return Ok(match v.extract::<i64>() {
            Ok(i) => Value::Int(i),
            Err(_) => Value::Str(Cow::Owned(v.str()?.to_str()?.to_owned())),
        });
    }
    if let Ok(f) = v.cast::<PyFloat>() {
        return Ok(Value::Float(f.value()));
    }
    if let Ok(b) = v.cast::<PyBytes>() {
        return Ok(Value::Str(Cow::Owned(
            String::from_utf8_lossy(b.as_bytes()).into_owned(),
        )));
    }
    if v.is_instance_of::<PyTuple>() || v.is_instance_of::<PyList>() {
        let mut values = Vec::new();
        for item in v.try_iter()? {
            values.push(value_of(&item?)?.into_owned());
        }
        return Ok(Value::Array(values));
    }
    Ok(Value::Str(Cow::Owned(v.str()?.to_str()?.to_owned())))
}

fn key_of<'a>(k: &'a Bound<'_, PyAny>) -> PyResult<Cow<'a, str>> {
    match k.cast::<PyString>() {
        Ok(s) => Ok(Cow::Borrowed(s.to_str()?)),
        Err(_) => Ok(Cow::Owned(k.str()?.to_str()?.to_owned())),
    }
}

type Items<'py> = Vec<(Bound<'py, PyAny>, Bound<'py, PyAny>)>;

/// The dict's items, held so that the attributes can borrow their strings.
fn items_of<'py>(attributes: &Bound<'py, PyDict>) -> Items<'py> {
    attributes.iter().collect()
}

fn attributes_of<'a>(items: &'a Items<'_>) -> PyResult<Vec<Attribute<'a>>> {
    items
        .iter()
        .map(|(key, value)| Ok((key_of(key)?, value_of(value)?)))
        .collect()
}

/// Pairs of `keys` and `values` whose value is not None, held so that the attributes can
/// borrow their strings. Two tuples and not a dict: the caller builds a tuple faster, and the
/// keys are one constant.
fn pairs_of<'py>(keys: &Bound<'py, PyTuple>, values: &Bound<'py, PyTuple>) -> PyResult<Items<'py>> {
    if keys.len() != values.len() {
        return Err(pyo3::exceptions::PyValueError::new_err(format!(
            "{} attribute keys for {} values",
            keys.len(),
            values.len()
        )));
    }
    Ok(keys
        .iter()
        .zip(values.iter())
        .filter(|(_, value)| !value.is_none())
        .collect())
}

/// `encode_span`'s arguments, in order (a tuple: `encode_span` and `SpanBuffer.push` take
/// them as `*span`).
#[derive(FromPyObject)]
struct SpanArguments<'py>(
    u128,                // trace_id
    u64,                 // span_id
    Option<u64>,         // parent_span_id
    String,              // name
    u8,                  // kind
    u64,                 // start_ns
    u64,                 // end_ns
    Bound<'py, PyTuple>, // keys
    Bound<'py, PyTuple>, // values
    u8,                  // status_code
    Option<String>,      // status_message
    Option<String>,      // trace_state
);

/// Calls `f` with the span `span` holds (`encode_span`'s arguments), its strings borrowed.
fn with_span<T>(span: &Bound<'_, PyTuple>, f: impl FnOnce(&Span<'_>) -> T) -> PyResult<T> {
    let SpanArguments(
        trace_id,
        span_id,
        parent_span_id,
        name,
        kind,
        start_ns,
        end_ns,
        keys,
        values,
        status_code,
        status_message,
        trace_state,
    ) = span.extract()?;
    let items = pairs_of(&keys, &values)?;
    let attributes = attributes_of(&items)?;
    Ok(f(&Span {
        trace_id,
        span_id,
        parent_span_id,
        name: &name,
        kind,
        start_ns,
        end_ns,
        attributes: &attributes,
        status_code,
        status_message: status_message.as_deref(),
        trace_state: trace_state.as_deref(),
    }))
}

/// One span's OTLP JSON text: `trace_id, span_id, parent_span_id, name, kind, start_ns,
/// end_ns, keys, values, status_code, status_message, trace_state`. Attributes: `keys[i]` is
/// `values[i]` (str, int, float, bool, bytes, or a tuple or list of them; anything else goes
/// as its `str`); a None value is left out.
#[pyfunction]
#[pyo3(signature = (*span))]
fn encode_span(span: &Bound<'_, PyTuple>) -> PyResult<String> {
    with_span(span, span_json)
}

/// Spans encoded as they end, queued in Rust until the exporter thread takes a batch as one
/// request body: the queue holds no Python object, and no span text becomes a Python string.
#[pyclass(name = "SpanBuffer", module = "palisade._core", frozen)]
pub struct PySpanBuffer {
    head: String,
    tail: String,
    queue: Mutex<SpanBatcher>,
}

impl PySpanBuffer {
    fn lock(&self) -> std::sync::MutexGuard<'_, SpanBatcher> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[pymethods]
impl PySpanBuffer {
    #[new]
    fn new(head: String, tail: String, max_spans: usize) -> Self {
        PySpanBuffer {
            head,
            tail,
            queue: Mutex::new(SpanBatcher::new(max_spans)),
        }
    }

    /// Encodes a span (the arguments of `encode_span`) and queues it; returns how many spans
    /// wait, or None when the queue is full and the span was dropped.
    #[pyo3(signature = (*span))]
    fn push(&self, span: &Bound<'_, PyTuple>) -> PyResult<Option<usize>> {
        // Not even read when it would be dropped.
        if self.lock().is_full() {
            return Ok(None);
        }
        with_span(span, |span| {
            let mut queue = self.lock();
            queue
                .push_with(|out| write_span(out, span))
                .then(|| queue.len())
        })
    }

    fn __len__(&self) -> usize {
        self.lock().len()
    }

    /// The request body of the oldest `max_spans` spans and their number, out of the queue;
    /// None when none wait.
    fn take<'py>(
        &self,
        py: Python<'py>,
        max_spans: usize,
    ) -> PyResult<Option<(Bound<'py, PyBytes>, usize)>> {
        let mut queue = self.lock();
        let (spans, count) = queue.oldest(max_spans);
        if count == 0 {
            return Ok(None);
        }
        let size = self.head.len() + spans.len() + self.tail.len();
        // Written straight into the bytes object: the batch's one copy.
        let body = PyBytes::new_with(py, size, |out| {
            write_request_body(out, &self.head, spans, &self.tail);
            Ok(())
        })?;
        queue.remove(count);
        Ok(Some((body, count)))
    }
}

/// The attribute objects of `attributes`, comma-separated, as in a span or a resource.
#[pyfunction]
fn encode_attributes(attributes: &Bound<'_, PyDict>) -> PyResult<String> {
    let items = items_of(attributes);
    let mut out = String::new();
    write_attributes(&mut out, &attributes_of(&items)?);
    Ok(out)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(encode_span, m)?)?;
    m.add_function(wrap_pyfunction!(encode_attributes, m)?)?;
    m.add_class::<PySpanBuffer>()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> serde_json::Value {
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    #[test]
    fn a_span_is_otlp_json_with_every_value_type() {
        let attributes = vec![
            (
                "s".into(),
                Value::Str("quote \" slash \\ line\n ctl \u{1} é".into()),
            ),
            ("i".into(), Value::Int(-42)),
            ("f".into(), Value::Float(0.25)),
            ("whole".into(), Value::Float(3.0)),
            ("nan".into(), Value::Float(f64::NAN)),
            ("inf".into(), Value::Float(f64::NEG_INFINITY)),
            ("b".into(), Value::Bool(false)),
            (
                "a".into(),
                Value::Array(vec![Value::Str("x".into()), Value::Int(1)]),
            ),
        ];
        let text = span_json(&Span {
            trace_id: 0xabd,
            span_id: 0x124,
            parent_span_id: Some(0x999),
            name: "chat \"m\"",
            kind: 3,
            start_ns: 1_700_000_000_000_000_000,
            end_ns: 1_700_000_000_500_000_000,
            attributes: &attributes,
            status_code: 2,
            status_message: Some("secret_detected"),
            trace_state: Some("vendor=v1"),
        });
        let span = parse(&text);
        assert_eq!(span["traceId"], "00000000000000000000000000000abd");
        assert_eq!(span["spanId"], "0000000000000124");
        assert_eq!(span["parentSpanId"], "0000000000000999");
        assert_eq!(span["name"], "chat \"m\"");
        assert_eq!(span["kind"], 3);
        assert_eq!(span["startTimeUnixNano"], "1700000000000000000");
        assert_eq!(
            span["status"],
            parse(r#"{"code":2,"message":"secret_detected"}"#)
        );
        assert_eq!(span["traceState"], "vendor=v1");
        let values: Vec<_> = span["attributes"].as_array().unwrap().iter().collect();
        assert_eq!(
            values[0]["value"]["stringValue"],
            "quote \" slash \\ line\n ctl \u{1} é"
        );
        assert_eq!(values[1]["value"]["intValue"], "-42");
        assert_eq!(values[2]["value"]["doubleValue"], 0.25);
        assert_eq!(values[3]["value"]["doubleValue"], 3.0);
        assert_eq!(values[4]["value"]["doubleValue"], "NaN");
        assert_eq!(values[5]["value"]["doubleValue"], "-Infinity");
        assert_eq!(values[6]["value"]["boolValue"], false);
        assert_eq!(
            values[7]["value"],
            parse(r#"{"arrayValue":{"values":[{"stringValue":"x"},{"intValue":"1"}]}}"#)
        );
    }

    #[test]
    fn a_root_span_without_status_message_or_state_omits_them() {
        let span = parse(&span_json(&Span {
            trace_id: u128::MAX,
            span_id: 1,
            parent_span_id: None,
            name: "chat",
            kind: 3,
            start_ns: 1,
            end_ns: 2,
            attributes: &[],
            status_code: 0,
            status_message: Some(""),
            trace_state: None,
        }));
        assert_eq!(span["traceId"], "ffffffffffffffffffffffffffffffff");
        assert!(span.get("parentSpanId").is_none());
        assert!(span.get("traceState").is_none());
        assert_eq!(span["status"], parse(r#"{"code":0}"#));
        assert_eq!(span["attributes"], parse("[]"));
    }

    #[test]
    fn every_control_character_is_escaped() {
        let text: String = (0u8..0x80).map(char::from).collect();
        let mut out = String::new();
        write_str(&mut out, &text);
        assert_eq!(parse(&out), serde_json::Value::String(text));
    }

    #[test]
    fn the_batcher_keeps_at_most_max_and_gives_the_oldest_first() {
        let mut batcher = SpanBatcher::new(3);
        for n in 0..5 {
            let pushed = batcher.push_with(|out| out.push_str(&format!("{{\"n\":{n}}}")));
            assert_eq!(pushed, n < 3);
        }
        assert_eq!(batcher.oldest(2), (r#"{"n":0},{"n":1}"#, 2));
        batcher.remove(0);
        assert_eq!(batcher.len(), 3);
        batcher.remove(2);
        assert_eq!(batcher.oldest(10), (r#"{"n":2}"#, 1));
        assert!(batcher.push_with(|out| out.push_str(r#"{"n":5}"#)));
        let (spans, count) = batcher.oldest(10);
        assert_eq!(count, 2);
        let (head, tail) = (r#"{"spans":["#, "]}");
        let mut body = vec![0u8; head.len() + spans.len() + tail.len()];
        write_request_body(&mut body, head, spans, tail);
        assert_eq!(
            parse(std::str::from_utf8(&body).unwrap()),
            parse(r#"{"spans":[{"n":2},{"n":5}]}"#)
        );
        batcher.remove(count);
        assert!(batcher.is_empty());
        assert_eq!(batcher.oldest(5), ("", 0));
        // Emptied, the buffer starts afresh: no comma before the first span.
        assert!(batcher.push_with(|out| out.push_str("{}")));
        assert_eq!(batcher.oldest(5), ("{}", 1));
    }

    #[test]
    fn numbers_are_written_as_core_fmt_would() {
        for value in [0u64, 7, 10, 99, 1_700_000_000_000_000_000, u64::MAX] {
            let mut out = String::new();
            push_u64(&mut out, value);
            assert_eq!(out, value.to_string());
        }
        for value in [0i64, -1, -42, i64::MIN, i64::MAX] {
            let mut out = String::new();
            push_i64(&mut out, value);
            assert_eq!(out, value.to_string());
        }
        for (value, digits) in [
            (0u128, 16),
            (0xabc, 32),
            (u128::MAX, 32),
            (u64::MAX.into(), 16),
        ] {
            let mut out = String::new();
            push_hex(&mut out, value, digits);
            assert_eq!(out, format!("{value:0digits$x}"));
        }
    }
}
