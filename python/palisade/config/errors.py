"""Config errors as the operator reads them: `file: key.path: what is wrong`, all of them.

pydantic reports where it looked (`guardrails.g.pii.action`, with the union's tag in the path)
and says it in its own words; this module turns that into the file's key path and our wording,
and never quotes a value that came from the environment.
"""

from __future__ import annotations

import re
import types
from collections.abc import Collection, Iterable, Sequence
from dataclasses import is_dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from palisade.config.fields import type_name

Problem = tuple[str, str]  # (key path, what is wrong)


class ConfigError(Exception):
    """A configuration problem; the message is meant for the operator as is (one line per
    problem)."""

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.problems = tuple(problems)

    @classmethod
    def of(cls, source: str, problems: Sequence[Problem]) -> ConfigError:
        lines = [f"{source}: {path or '<top level>'}: {what}" for path, what in problems]
        return cls("\n".join(lines), problems)


def join(path: str, part: str | int) -> str:
    if isinstance(part, int):
        return f"{path}[{part}]"
    return f"{path}.{part}" if path else part


class Taint:
    """The key paths whose value the environment supplied, in part or whole."""

    def __init__(self, paths: Collection[str] = ()) -> None:
        self.paths = set(paths)

    def covers(self, path: str) -> bool:
        # An error at `a.b` may quote anything under it.
        return any(
            p == path or not path or p.startswith((f"{path}.", f"{path}[")) for p in self.paths
        )


def explain(error: ValidationError, root: Any, taint: Taint, prefix: str = "") -> list[Problem]:
    return [_explain(e, root, taint, prefix) for e in error.errors(include_url=False)]


def _explain(e: ErrorDetails, root: Any, taint: Taint, prefix: str) -> Problem:
    path, at, parent = _locate(root, e["loc"], prefix)
    kind, ctx, value = e["type"], e.get("ctx") or {}, e.get("input")
    quiet = taint.covers(path)

    def quoting(what: str, shown: str) -> str:
        return what if quiet else f"{what}, not {shown}"

    if kind == "palisade":
        return path, str(ctx["hidden"] if quiet else ctx["shown"])
    if kind == "missing":
        return path, "is required" + _choices(at)
    if kind in ("extra_forbidden", "unexpected_keyword_argument"):
        fields = fields_of(parent) if parent is not None else {}
        known = ", ".join(sorted(f.alias or name for name, f in fields.items()))
        return path, f"unknown key (known keys: {known})" if known else "unknown key"
    if kind in ("model_type", "model_attributes_type", "dataclass_type", "dict_type"):
        return path, f"must be a mapping, not {type_name(value)}"
    if kind in ("list_type", "tuple_type"):
        item = get_args(strip_type(at))[:1]
        what = "a list of strings" if item == (str,) else "a list"
        return path, f"must be {what}, not {type_name(value)}"
    if kind == "string_type":
        return path, f"must be a string, not {type_name(value)}"
    if kind in ("int_parsing", "float_parsing"):
        return path, "must be a number, not a string"
    if kind in ("int_type", "float_type"):
        return path, f"must be a number, not {type_name(value)}"
    if kind == "int_from_float":
        return path, quoting("must be a whole number", str(value))
    if kind == "greater_than":
        return path, quoting(f"must be greater than {ctx['gt']}", str(value))
    if kind == "greater_than_equal":
        return path, quoting(f"must be {ctx['ge']} or more", str(value))
    if kind == "literal_error":
        options = ", ".join(re.findall(r"'([^']*)'", str(ctx.get("expected", ""))))
        return path, quoting(f"must be one of {options}", repr(value))
    if kind == "union_tag_invalid":
        options = ", ".join(_tags(at))
        return join(path, "type"), quoting(f"must be one of {options}", repr(ctx.get("tag")))
    if kind == "union_tag_not_found":
        return join(path, "type"), f"is required (one of {', '.join(_tags(at))})"
    if kind in ("bool_type", "bool_parsing"):
        return path, f"must be true or false, not {type_name(value)}"
    # Not worded here yet: pydantic's own message, which names the expectation, not the value.
    msg = e["msg"]
    return path, msg[:1].lower() + msg[1:]


def _choices(tp: Any) -> str:
    """` (one of a, b)` or ` (a list of a, b)` when the key takes fixed words, else ``."""
    tp = strip_type(tp)
    if get_origin(tp) is Literal:
        return f" (one of {', '.join(map(str, get_args(tp)))})"
    item = strip_type(get_args(tp)[0]) if get_origin(tp) in (list, tuple) else None
    if get_origin(item) is Literal:
        return f" (a list of {', '.join(map(str, get_args(item)))})"
    return ""


def fields_of(model: Any) -> dict[str, Any]:
    if isinstance(model, type) and issubclass(model, BaseModel):
        return dict(model.model_fields)
    fields: dict[str, Any] = getattr(model, "__pydantic_fields__", {})
    return fields


def is_model(tp: Any) -> bool:
    return isinstance(tp, type) and (issubclass(tp, BaseModel) or is_dataclass(tp))


def strip_type(tp: Any) -> Any:
    """Annotated[X, ...] -> X and X | None -> X."""
    while True:
        if get_origin(tp) is Annotated:
            tp = get_args(tp)[0]
            continue
        if get_origin(tp) in (Union, types.UnionType):
            rest = [a for a in get_args(tp) if a is not type(None)]
            if len(rest) == 1:
                tp = rest[0]
                continue
        return tp


def _union_members(tp: Any) -> list[Any]:
    tp = strip_type(tp)
    if get_origin(tp) in (Union, types.UnionType):
        return [a for a in get_args(tp) if is_model(a)]
    return []


def _tags(tp: Any) -> list[str]:
    out: list[str] = []
    for member in _union_members(tp):
        out += [t for t in _literal_values(fields_of(member).get("type")) if t not in out]
    return out


def _literal_values(field: Any) -> tuple[str, ...]:
    if field is None:
        return ()
    annotation = strip_type(field.annotation)
    return get_args(annotation) if get_origin(annotation) is Literal else ()


def _locate(root: Any, loc: Iterable[str | int], prefix: str) -> tuple[str, Any, Any]:
    """The key path of a pydantic location, the type expected there (None once the location
    leaves the models) and the model that holds the last key."""
    path, tp, parent = prefix, root, None
    for part in loc:
        tp = strip_type(tp)
        if part == "[key]":  # the key of a mapping, not a value under it
            continue
        members = _union_members(tp)
        if members and isinstance(part, str):
            # A tagged union names the member it tried; the file has no such level.
            tp = next(
                (m for m in members if part in _literal_values(fields_of(m).get("type"))), None
            )
            continue
        origin, args = get_origin(tp), get_args(tp)
        path = join(path, part)
        if is_model(tp):
            parent, field = tp, fields_of(tp).get(str(part))
            tp = field.rebuild_annotation() if field is not None else None
        elif origin is dict and args:
            tp = args[1]
        elif origin in (list, tuple) and args:
            tp = args[0]
        else:
            tp = None
    return path, tp, parent
