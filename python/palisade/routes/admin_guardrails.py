"""`/admin/v1/guardrails`: guardrail definitions and their versions, as the proxies have them.

Reads need the viewer role, writes the admin role. A definition is `name` (the id; it never
changes), `type` and the keys of its section in the config file, validated by the same models
(config/guardrails.py), so a bad one gets the file's error with the key path. Every change is
a numbered version in the store (store/guardrails.py) that every worker picks up within a poll
and that rebuilds the proxies attaching it (this worker applies it before answering).

A viewer is not shown what a `rules` guardrail looks for (its patterns and keywords, only the
rule names): knowing the words is knowing how to avoid them.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from palisade._core import Scanner
from palisade.config import (
    ConfigError,
    Guardrail,
    InjectionGuardrail,
    ScanGuardrail,
    ToolPolicyGuardrail,
    guardrail_to_dict,
    parse_guardrail,
)
from palisade.errors import BadRequest, NotFound
from palisade.gateway import Gateway
from palisade.identity.runtime import Identity
from palisade.routes.admin import (
    _body,
    _endpoint,
    _json,
    _version_number,
    _write,
    version_page,
)
from palisade.routes.admin_auth import Role
from palisade.store import guardrails
from palisade.store.guardrails import GuardrailDict

# A name is a path segment of these routes; `versions` is one of their own.
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_RESERVED = frozenset({"versions"})
_HIDDEN = ("patterns", "keywords")


def summary(g: Guardrail) -> dict[str, Any]:
    """A guardrail's settings in one shape per kind, for the console's proxy form and list:
    the rules by name, never the patterns or keywords they look for."""
    if isinstance(g, ScanGuardrail):
        rules = [name for name, _ in g.patterns] + [name for name, _ in g.keywords]
        return {
            "direction": g.direction,
            "action": g.action,
            "entities": list(g.entities),
            "rules": rules,
        }
    if isinstance(g, InjectionGuardrail):
        return {
            "flag_threshold": g.flag_threshold,
            "block_threshold": g.block_threshold,
            "targets": sorted(g.targets),
        }
    return {
        "rules": [{"name": r.name, "tool": r.tool, "action": r.action} for r in g.rules],
        "default_action": g.default_action,
    }


def _kind(g: Guardrail) -> str:
    if isinstance(g, ScanGuardrail):
        return g.type
    if isinstance(g, InjectionGuardrail):
        return "injection"
    return "tool_policies" if isinstance(g, ToolPolicyGuardrail) else "trusted_data"


def _shown(raw: GuardrailDict, who: Role) -> GuardrailDict:
    return raw if who == "admin" else {k: v for k, v in raw.items() if k not in _HIDDEN}


def _view(raw: GuardrailDict, who: Role, used: dict[str, list[str]]) -> dict[str, Any]:
    """The stored definition (for a viewer without what it looks for), its summary and the
    current proxies that attach it."""
    out: dict[str, Any] = {**_shown(raw, who), "proxies": used.get(raw["name"], [])}
    try:
        g = parse_guardrail(raw, source="store")
    except ConfigError as exc:
        # Stored by an older build and no longer valid: shown, so it can be fixed or deleted.
        return {**out, "settings": None, "problem": str(exc)}
    return {**out, "type": _kind(g), "settings": summary(g)}


async def _listing(identity: Identity) -> tuple[guardrails.Version, dict[str, list[str]]]:
    def read(conn: sqlite3.Connection) -> tuple[guardrails.Version, dict[str, list[str]]]:
        latest = guardrails.current(conn)
        assert latest is not None  # seeded on start
        return latest, guardrails.attached_by(conn, (g["name"] for g in latest.guardrails))

    return await identity.db.run(read)


async def list_guardrails(request: Request, gw: Gateway, identity: Identity, who: Role) -> Response:
    latest, used = await _listing(identity)
    return _json(
        {
            "object": "list",
            "version": latest.version,
            "data": [_view(g, who, used) for g in latest.guardrails],
            # The entity kinds `pii` and `secrets` guardrails may list (the console's editor).
            "kinds": {kind: list(Scanner([kind]).kinds) for kind in ("pii", "secrets")},
        }
    )


def _not_found(name: str) -> NotFound:
    return NotFound(f"Palisade: no guardrail is named `{name[:64]}`.", code="guardrail_not_found")


async def get_guardrail(request: Request, gw: Gateway, identity: Identity, who: Role) -> Response:
    name = request.path_params["name"]
    latest, used = await _listing(identity)
    for g in latest.guardrails:
        if g["name"] == name:
            return _json(_view(g, who, used))
    raise _not_found(name)


def _validated(body: dict[str, Any]) -> GuardrailDict:
    """The definition as the store keeps it (config/guardrails.py `guardrail_to_dict`), or the
    file's errors as a 400 whose `param` is the first bad key."""
    try:
        return guardrail_to_dict(parse_guardrail(body, source="guardrail"))
    except ConfigError as exc:
        param = exc.problems[0][0] if exc.problems else None
        raise BadRequest(
            f"Palisade: {exc}", param=param or None, code="invalid_guardrail"
        ) from None


async def _saved(
    gw: Gateway, identity: Identity, who: Role, definition: GuardrailDict, *, create: bool
) -> dict[str, Any]:
    version: guardrails.Version = await _write(
        gw, identity, lambda conn: guardrails.put(conn, who, definition, create=create)
    )
    saved = next(g for g in version.guardrails if g["name"] == definition["name"])
    used = await identity.db.run(lambda conn: guardrails.attached_by(conn, [saved["name"]]))
    return _view(saved, who, used)


async def create_guardrail(
    request: Request, gw: Gateway, identity: Identity, who: Role
) -> Response:
    body = await _body(request)
    name = body.get("name")
    if not isinstance(name, str) or not _NAME_RE.match(name) or name in _RESERVED:
        raise BadRequest(
            "Palisade: guardrail: name: must be 1-64 letters, digits, `_`, `.` or `-`, starting "
            "with a letter or digit (and not `versions`).",
            param="name",
            code="invalid_guardrail",
        )
    definition = _validated(body)
    return _json(await _saved(gw, identity, who, definition, create=True), status=201)


async def update_guardrail(
    request: Request, gw: Gateway, identity: Identity, who: Role
) -> Response:
    name = request.path_params["name"]
    body = await _body(request)
    if body.setdefault("name", name) != name:
        raise BadRequest(
            "Palisade: a guardrail's name cannot change (create one under the new name).",
            param="name",
            code="invalid_guardrail",
        )
    # Shown to the console and sent back: neither part of the definition.
    for key in ("version", "proxies", "settings", "problem"):
        body.pop(key, None)
    definition = _validated(body)
    return _json(await _saved(gw, identity, who, definition, create=False))


async def delete_guardrail(
    request: Request, gw: Gateway, identity: Identity, who: Role
) -> Response:
    name = request.path_params["name"]
    version: guardrails.Version = await _write(
        gw, identity, lambda conn: guardrails.delete(conn, who, name)
    )
    return _json({"deleted": name, "version": version.version})


async def list_versions(request: Request, gw: Gateway, identity: Identity, who: Role) -> Response:
    limit, before = version_page(request)
    found = await identity.db.run(lambda conn: guardrails.versions(conn, limit, before))
    return _json({"object": "list", "data": [v.summary() for v in found]})


async def get_version(request: Request, gw: Gateway, identity: Identity, who: Role) -> Response:
    number = _version_number(request)
    found = await identity.db.run(lambda conn: guardrails.get_version(conn, number))
    if found is None:
        raise NotFound(f"Palisade: there is no version {number}.", code="version_not_found")
    return _json({**found.summary(), "guardrails": [_shown(g, who) for g in found.guardrails]})


async def rollback(request: Request, gw: Gateway, identity: Identity, who: Role) -> Response:
    number = _version_number(request)
    version: guardrails.Version = await _write(
        gw, identity, lambda conn: guardrails.rollback(conn, who, number)
    )
    return _json({**version.summary(), "guardrails": version.guardrails})


def routes() -> list[BaseRoute]:
    p = "/admin/v1/guardrails"
    return [
        # Before `{name}`: `versions` is no guardrail's name.
        Route(f"{p}/versions", _endpoint("viewer", list_versions), methods=["GET"]),
        Route(f"{p}/versions/{{version}}", _endpoint("viewer", get_version), methods=["GET"]),
        Route(f"{p}/versions/{{version}}/rollback", _endpoint("admin", rollback), methods=["POST"]),
        Route(p, _endpoint("viewer", list_guardrails), methods=["GET"]),
        Route(p, _endpoint("admin", create_guardrail), methods=["POST"]),
        Route(f"{p}/{{name}}", _endpoint("viewer", get_guardrail), methods=["GET"]),
        Route(f"{p}/{{name}}", _endpoint("admin", update_guardrail), methods=["PUT"]),
        Route(f"{p}/{{name}}", _endpoint("admin", delete_guardrail), methods=["DELETE"]),
    ]
