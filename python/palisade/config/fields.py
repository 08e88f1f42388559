"""The value types the file's keys share, with the wording of their errors.

Every failure is a `problem`: a message that shows the offending value and one that does not,
so the loader can choose the silent one wherever the value came from the environment.
"""

from __future__ import annotations

from typing import Annotated, Any

from annotated_types import Ge, Gt
from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

# Numbers and booleans may arrive as strings (`port: ${PORT}`); numbers given where text is
# expected (`api_key: 12345`) are text, as YAML's typing of scalars is not the operator's intent.
SECTION = ConfigDict(extra="forbid", coerce_numbers_to_str=True)


def problem(shown: str, hidden: str | None = None) -> PydanticCustomError:
    """`shown` may quote the value; `hidden` must not (it is used for environment values)."""
    return PydanticCustomError("palisade", "{shown}", {"shown": shown, "hidden": hidden or shown})


def key(default: Any = ..., meaning: str = "", *, shown: str | None = None, **kw: Any) -> Any:
    """A documented key; `shown` is the default as the README states it, when the value alone
    would not say it (`none (off)`, `global`)."""
    extra: dict[str, Any] = {"x-default": shown} if shown is not None else {}
    extra.update(kw.pop("json_schema_extra", {}))
    return Field(default, description=meaning, json_schema_extra=extra or None, **kw)


def type_name(value: object) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else type(value).__name__
    )


def _number(value: object) -> object:
    # bool is an int to Python, never to an operator.
    if isinstance(value, bool):
        raise problem("must be a number, not a boolean")
    return value


_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0", ""})


def _flag(value: object) -> bool:
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    if not isinstance(value, bool):
        raise problem(f"must be true or false, not {type_name(value)}")
    return value


def empty_is_none(value: object) -> object:
    # `token: ${ADMIN_TOKEN:-}` unset means "no token", not an empty one.
    return None if value == "" else value


def _port(value: int) -> int:
    if not 0 <= value <= 65535:
        raise problem(f"must be a port number (0-65535), not {value}", "must be a port number")
    return value


def _fraction(value: float) -> float:
    if not 0 <= value <= 1:
        raise problem(f"must be between 0 and 1, not {value}", "must be between 0 and 1")
    return value


def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        # Never echoed: a URL may carry credentials.
        raise problem("must start with http:// or https://")
    return value


def _optional_http_url(value: str | None) -> str | None:
    return None if value is None else _http_url(value)


def _required_text(value: str) -> str:
    if not value:
        raise problem("is required")
    return value


Int = Annotated[int, BeforeValidator(_number)]
PositiveInt = Annotated[int, BeforeValidator(_number), Gt(0)]
NonNegativeInt = Annotated[int, BeforeValidator(_number), Ge(0)]
PositiveFloat = Annotated[float, BeforeValidator(_number), Gt(0)]
NonNegativeFloat = Annotated[float, BeforeValidator(_number), Ge(0)]
Fraction = Annotated[float, BeforeValidator(_number), AfterValidator(_fraction)]
Port = Annotated[int, BeforeValidator(_number), AfterValidator(_port)]
Flag = Annotated[bool, BeforeValidator(_flag)]
Text = str
RequiredText = Annotated[str, AfterValidator(_required_text)]
OptionalText = Annotated[str | None, BeforeValidator(empty_is_none)]
HttpUrl = Annotated[str, AfterValidator(_http_url)]
OptionalHttpUrl = Annotated[
    str | None, BeforeValidator(empty_is_none), AfterValidator(_optional_http_url)
]
Number = Annotated[float, BeforeValidator(_number)]
