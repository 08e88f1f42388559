"""Typed surface of the private Rust extension. Python code imports from here; nothing else
in the package touches the extension directly, so this stub is the whole contract."""

from collections.abc import Sequence
from typing import Any, Literal, final

__version__: str

# ---- sse ---------------------------------------------------------------------------------

@final
class SseEvent:
    """One dispatched event. `event` defaults to "message"; `id` is the last event id seen
    (it persists across events, per the spec); `retry` is set only by this event's block."""

    @property
    def event(self) -> str: ...
    @property
    def data(self) -> str: ...
    @property
    def id(self) -> str: ...
    @property
    def retry(self) -> int | None: ...
    def __init__(self, event: str, data: str, id: str = "", retry: int | None = None) -> None:
        """For parsers of other framings written in Python."""

@final
class SseParser:
    """Incremental WHATWG event-stream parser; feed network chunks of any size."""

    def __init__(self) -> None: ...
    def feed(self, chunk: bytes) -> list[SseEvent]:
        """Returns the events that this chunk completes, in order."""
    def finish(self) -> bool:
        """End of stream: discards an unfinished event and resets the parser. Returns True
        when something was discarded (the stream was cut off mid-event)."""

# ---- tokens ------------------------------------------------------------------------------
# Exact BPE counts for OpenAI's vocabularies, rank data built into the extension (no network).
# Counts are of the ordinary encoding: `<|endoftext|>` and the like count as plain text.

def count_tokens(text: str, encoding: str = "o200k_base") -> int:
    """Number of tokens of `text` in `encoding` ("o200k_base" or "cl100k_base"); equal to
    `len(tiktoken.get_encoding(encoding).encode_ordinary(text))`. Raises ValueError for any
    other encoding. The GIL is released for texts of 1 KiB and more."""

def encoding_for_model(model: str) -> str:
    """The encoding of a model name. A provider prefix (`openai/gpt-4o`) and a fine-tune name
    (`ft:gpt-4o-mini:org::id`) are resolved to the base model; case is ignored.
    gpt-4o, chatgpt-4o, gpt-4.1, gpt-4.5, gpt-5*, o1, o3, o4-mini (and their dated or -mini
    variants), gpt-oss -> "o200k_base"; gpt-4, gpt-4-turbo, gpt-4-32k, gpt-3.5-turbo,
    text-embedding-3-*, text-embedding-ada-002 -> "cl100k_base". Anything else -> "o200k_base"
    (the vocabulary of every current OpenAI chat model), so an unknown model still counts."""

def count_chat_tokens(messages_json: bytes, model: str, tools_json: bytes | None = None) -> int:
    """Prompt tokens of a chat request, from the raw JSON of its `messages` array (and `tools`
    array, or JSON null) as the gateway holds them; parsed and counted with the GIL released
    for bodies of 1 KiB and more. Malformed JSON, or messages that are not an array of
    objects, raise ValueError. The encoding is `encoding_for_model(model)`; `t(s)` below is
    `count_tokens(s, that encoding)`. OpenAI's cookbook accounting:

    total = 3 (reply priming) + sum over messages of
        3
        + t(v) for every string-valued field v (role, content, name, tool_call_id, refusal, ...)
        + 1 if the message has `name`
        + for `content` given as an array of parts:
            text / input_text / output_text parts: t(text); refusal parts: t(refusal);
            image_url / input_image parts: the image cost below; other parts (audio, files): 0
        + for each `tool_calls[i].function` (and a legacy `function_call`):
            t(name) + t(arguments)
    + tools, if any (func_init = 7 for o200k_base models, 10 for cl100k_base ones):
        sum over tools (`{"function": {...}}` or the definition itself) of
            func_init + t(f"{name}:{description without one trailing '.'}")
            + if parameters.properties is non-empty: 3 + sum over properties of
                3 + t(f"{key}:{type}:{description without one trailing '.'}")
                + if it has `enum`: -3 + sum of (3 + t(item)) over the items
        + 12
      (a union `type` list is joined with ","; nested object properties are not counted).

    Image cost: detail "low" -> 85. "high", "auto" or unset -> scale to fit 2048x2048, then
    so that the short side is at most 768, then 85 + 170 per 512-px tile (1024x1024 -> 765).
    The size comes from integer `width`/`height` on the part or its `image_url` object, else
    from the header of a base64 `data:` URL (PNG, GIF, JPEG, WebP); when unknown, 765 (the
    documented 1024x1024 example)."""

# ---- scan --------------------------------------------------------------------------------
# Built-in kinds. PII: email, phone, credit_card, iban, us_ssn, ip_address. Secrets:
# openai_api_key, anthropic_api_key, aws_access_key, aws_secret_key, github_token, slack_token,
# stripe_key, google_api_key, private_key, jwt, generic_secret, and the gateway's own:
# palisade_virtual_key (`pal-…`), palisade_access_token (`pat-…`), palisade_admin_token (the
# `admin_tokens` a Scanner is given). Custom rules report their own
# name with category "custom". Wherever a list of kinds is taken, the group names "pii",
# "secrets" (and, for `kinds=`, "custom") stand for every kind of that category.
#
# No object here ever shows a matched value: matches carry offsets only; slice your own string.

@final
class Match:
    """One detection; `text[m.start:m.end]` is the value (Python `str` offsets). Overlapping
    detections are merged into one span named by the most specific kind."""

    @property
    def kind(self) -> str: ...
    @property
    def category(self) -> str:
        """One of "pii", "secret", "custom"."""
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    def __eq__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...

@final
class Redaction:
    @property
    def text(self) -> str:
        """The input with the selected kinds replaced."""
    @property
    def matches(self) -> list[Match]:
        """Every detection in the input (replaced or not), offsets into the input."""
    @property
    def counts(self) -> dict[str, int]:
        """Detections per kind."""

@final
class Scanner:
    """One compiled rule set. Build it once per config and share it: it is immutable and safe
    to use from any thread; the GIL is released while scanning texts of 16 KiB or more."""

    def __init__(
        self,
        entities: list[str] | None = None,
        custom_patterns: dict[str, str] | None = None,
        keywords: dict[str, list[str]] | None = None,
        admin_tokens: list[str] | None = None,
    ) -> None:
        """`entities`: built-in kinds (or "pii"/"secrets") to turn on; None means all.
        `custom_patterns`: name -> regex (Rust `regex` syntax, linear time). `keywords`:
        name -> words matched case-insensitively (ASCII) on word boundaries. `admin_tokens`:
        the gateway's admin API tokens, found as the built-in kind `palisade_admin_token` when
        that kind is on: the exact value, case-sensitive, wherever it occurs (also glued to
        other characters, as in `?t=<token>&`); tokens under 16 characters are ignored.
        Raises ValueError naming the offending entity, rule or keyword list, never a token."""
    @property
    def kinds(self) -> list[str]:
        """Kinds this scanner reports: enabled built-ins, then custom rules."""
    def scan(self, text: str) -> list[Match]:
        """Merged detections, sorted by position."""
    def redact(
        self,
        text: str,
        style: str = "placeholder",
        kinds: list[str] | None = None,
        mask_text: str = "[REDACTED]",
    ) -> Redaction:
        """Replaces detections of `kinds` (None: all). Styles: "placeholder" (`[EMAIL_1]`,
        numbered per distinct value within this call), "mask" (`mask_text`), "partial" (every
        letter/digit but the last four becomes '*', separators stay: `****-****-****-1234`)."""
    def stream(
        self,
        style: str = "placeholder",
        kinds: list[str] | None = None,
        mask_text: str = "[REDACTED]",
    ) -> StreamRedactor:
        """A redactor for one streamed text; same arguments as `redact`."""
    def masker(self, kinds: list[str] | None = None) -> Masker:
        """Reversible masking for one request (None: all kinds)."""

@final
class StreamRedactor:
    """Chunk-by-chunk redaction whose concatenated output equals `Scanner.redact` of the whole
    text, for any chunking. Text is released as soon as no match can still start in it; the
    held tail is usually the last word, at most 8 KiB past a candidate's start (or the longest
    admin token's length, if longer; 16 KiB after an unterminated private-key header). Not for
    concurrent use by several tasks."""

    def feed(self, chunk: str) -> str:
        """Returns the text that became final (possibly empty)."""
    def finish(self) -> str:
        """End of stream: returns the rest."""
    def take_matches(self) -> list[Match]:
        """Detections released since the last call; offsets into the whole input stream.
        Check these (or `counts`) before forwarding `feed`'s output to enforce a block."""
    @property
    def counts(self) -> dict[str, int]:
        """Detections released so far, per kind."""
    @property
    def held(self) -> int:
        """UTF-8 bytes received but not yet released."""

@final
class Masker:
    """Placeholders for one request. `mask` every text sent to the provider (numbering is
    shared across calls, so a value keeps its placeholder), then `unmask` the answer. The
    originals stay in this object only; its repr shows a count. A placeholder that already
    occurs in the input is never assigned, so user-written text is never "restored"."""

    def mask(self, text: str) -> Redaction: ...
    def unmask(self, text: str) -> str:
        """Restores every placeholder this masker assigned; others are left as they are."""
    def unmask_stream(self) -> Unmasker:
        """An un-masker for a streamed answer (knows the placeholders assigned so far)."""
    def __len__(self) -> int:
        """Number of distinct masked values."""

@final
class Unmasker:
    """Streaming `unmask`: holds back only a tail that is still a prefix of a known
    placeholder (e.g. `[EMAIL_` at the end of a chunk)."""

    def feed(self, chunk: str) -> str: ...
    def finish(self) -> str: ...

# ---- injection ---------------------------------------------------------------------------

INJECTION_DEFAULT_THRESHOLD: float
"""Score at or above which text is treated as a prompt-injection attempt (0.5)."""

@final
class InjectionResult:
    """Outcome of `score_injection`."""

    @property
    def score(self) -> float:
        """In [0, 1]: weighted signals combined as independent evidence, 1 - prod(1 - w)."""
    @property
    def signals(self) -> list[str]:
        """Names of the signals that fired, strongest first, as `family.detail`. Families:
        `override`, `delimiter`, `extraction`, `jailbreak`, `exfiltration`, and
        `obfuscation` (leetspeak, homoglyphs, invisible characters, spacing, encoded or split
        words; listed and counted only when an attack family fired too)."""

def score_injection(text: str) -> InjectionResult:
    """Scores `text` for prompt injection after normalizing away common obfuscation. Matches
    inside a short quoted phrase that is being discussed, or in a question about the concept,
    weigh less. Releases the GIL for inputs of 4 KiB and more."""

def normalize_for_injection(text: str) -> str:
    """The detection view that `score_injection` matches on: NFKC, lowercase, invisible and
    bidi characters removed, look-alike letters and leetspeak folded, spaced-out letters
    joined, and base64/hex segments that decode to text appended on new lines. For tests and
    debugging; not meant for display."""

# ---- json_shape --------------------------------------------------------------------------

# One byte scan of a request body before it is parsed, for what a parser would spend long on
# and for what parsers read differently (the gateway judges orjson's parse but forwards the
# bytes). It skips string contents with memchr and allocates nothing for a typical body. It
# does not validate: any bytes get an answer, and invalid JSON may get any answer (orjson
# refuses it afterwards); valid JSON gets the exact one.

@final
class ShapeFault:
    """Why a body failed `json_shape`: the first fault in the text, where the scan stopped."""

    @property
    def kind(self) -> Literal["too_deep", "duplicate_key", "nul_escape"]:
        """What was found. "too_deep": an object or array opens deeper than `max_depth`.
        "duplicate_key": an object repeats one of its keys (at any depth; keys compare as
        decoded, so `"mess\\u0061ges"` repeats `"messages"`; keys of different objects never
        clash). "nul_escape": a string holds the escape `\\u0000`."""
    @property
    def key(self) -> str | None:
        """The repeated key, decoded, for "duplicate_key"; None otherwise. Never a value."""
    @property
    def offset(self) -> int:
        """Byte offset into the body: of the opening bracket over the limit, of the repeated
        key's opening quote, or of the backslash of `\\u0000`."""

def json_shape(data: bytes, max_depth: int) -> ShapeFault | None:
    """None when the body nests objects and arrays at most `max_depth` (>= 0) deep (0 for a
    scalar, 1 for `{}` or `[1]`, 2 for `[{}]`), repeats no key within an object, and has no
    `\\u0000` escape; else the first fault. Past a bracket over the limit nothing is read, so
    a hostile body costs no more than its first `max_depth + 1` brackets. Linear in the size
    of the body, objects of any number of keys included. Releases the GIL for inputs of 16 KiB
    and more."""

# ---- otlp --------------------------------------------------------------------------------

SpanArguments = tuple[
    int,  # trace_id
    int,  # span_id
    int | None,  # parent_span_id
    str,  # name
    int,  # kind
    int,  # start_ns
    int,  # end_ns
    tuple[str, ...],  # keys
    tuple[Any, ...],  # values
    int,  # status_code
    str | None,  # status_message
    str | None,  # trace_state
]

def encode_span(*span: *SpanArguments) -> str:
    """One span in OTLP's JSON mapping (ids in hex, 64-bit integers as strings). `kind` and
    `status_code` are OTLP's numbers (3 = client; 0 unset, 1 ok, 2 error). Attribute `keys[i]`
    has `values[i]`: str, int (beyond 64 bits: sent as its decimal string), float, bool, bytes
    (UTF-8, lossy), or a tuple or list of them; anything else goes as its `str`; None leaves
    the attribute out. ValueError when the tuples differ in length."""

def encode_attributes(attributes: dict[str, Any]) -> str:
    """The `{"key":..,"value":..}` objects of `attributes`, comma-separated, as in
    `encode_span`."""

class SpanBuffer:
    """Encoded spans waiting for export (at most `max_spans`), and the envelope they leave in:
    an export request's body is `head`, the spans comma-separated, `tail`."""

    def __init__(self, head: str, tail: str, max_spans: int) -> None: ...
    def push(self, *span: *SpanArguments) -> int | None:
        """Encodes a span as `encode_span` does and queues it; returns how many spans wait, or
        None when the queue is full (the span is dropped, not encoded)."""
    def __len__(self) -> int: ...
    def take(self, max_spans: int) -> tuple[bytes, int] | None:
        """The request body of the oldest `max_spans` spans at most, and their number, out of
        the queue; None when none wait."""

# ---- sqlite_batch ------------------------------------------------------------------------

_SqlValue = str | int | float | bytes | None

class SqliteError(Exception):
    """A SQLite write failed (locked too long, read-only, disk full, ...); the message is
    SQLite's."""

class SqliteBatchWriter:
    """A write connection to a SQLite file, through the same system SQLite library Python's
    `sqlite3` uses (two copies in one process would break each other's file locks). Runs `setup`
    (pragmas that must precede a new file's first write, such as its page size, and the
    schema), then switches to WAL with `synchronous=NORMAL`. Raises SqliteError."""

    def __init__(self, path: str, setup: str, busy_timeout_s: float) -> None: ...
    def write(self, batch: list[tuple[str, Sequence[tuple[_SqlValue, ...]]]]) -> list[list[int]]:
        """Runs each `(sql, rows)` once per row, all in one `BEGIN IMMEDIATE` transaction (all
        or nothing), with the GIL released; returns per statement the rows each execution
        changed. bool binds as an integer; other types raise TypeError before SQLite runs."""
    def execute(self, sql: str, params: tuple[_SqlValue, ...]) -> int:
        """One statement on its own (autocommit); returns the rows it changed. SQL that is not
        exactly one statement taking `len(params)` values raises SqliteError."""
    def close(self) -> None:
        """Closes the connection; later calls raise SqliteError."""

# ---- eventstream -------------------------------------------------------------------------
# The AWS binary event stream (`application/vnd.amazon.eventstream`), Bedrock's streams.

@final
class EventStreamParser:
    """Incremental parser of AWS event-stream messages; each becomes an `SseEvent` named by its
    `:event-type` (an exception by its `:exception-type`, an error by its `:error-code`) whose
    data is the payload's text. A CRC mismatch or a bad length ends the parse: later messages
    are dropped and `finish` returns True."""

    def __init__(self) -> None: ...
    def feed(self, chunk: bytes) -> list[SseEvent]: ...
    def finish(self) -> bool:
        """End of stream: True when it stopped inside a message or broke the format."""

def frame_event(name: str, payload: bytes) -> bytes:
    """An `event` message: `:event-type` `name`, `:content-type` application/json, `payload`."""

def frame_exception(name: str, payload: bytes) -> bytes:
    """An `exception` message: `:exception-type` `name` (`throttlingException`), `payload`."""

# ---- sigv4 -------------------------------------------------------------------------------

@final
class SigV4Signer:
    """AWS Signature Version 4 with one set of credentials for one region and service; the
    derived signing key is cached per day."""

    def __init__(self, access_key: str, secret_key: str, region: str, service: str) -> None: ...
    @property
    def access_key(self) -> str: ...
    def authorization(
        self,
        method: str,
        path: str,
        query: str,
        headers: list[tuple[str, str]],
        body: bytes,
        amz_date: str,
    ) -> str:
        """The `Authorization` header: `path` percent-encoded as sent (it is encoded once more,
        as botocore does), `query` canonical, `headers` the signed ones (lower-case names, `host`
        and `x-amz-date` among them), `amz_date` `YYYYMMDDTHHMMSSZ`."""

# ---- complexity --------------------------------------------------------------------------

def prompt_complexity(
    text: str, model: str = "gpt-4o", max_tokens: int | None = None
) -> tuple[int, float | None]:
    """`(tokens, score)` of a prompt's text, for model downgrade. `tokens` is
    `count_tokens(text, encoding_for_model(model))` when that is at most `max_tokens` (None: no
    bound); past it, counting stops, `tokens` is some number above `max_tokens` and `score` is
    None (not computed). `score`, in [0, 1], is how complex the prompt looks from cheap
    features: length in words, code (fenced blocks, code-like lines), math symbols, list items,
    questions, scripts used, and English cue words of multi-step work ("step by step", "prove",
    "analyze", "design", "compare", ...), each weighted and combined as independent evidence,
    `1 - prod(1 - e)`. Deterministic; a greeting or a one-line question scores under 0.05, a
    multi-part coding or proof task over 0.8. The GIL is released for texts of 1 KiB and
    more."""
