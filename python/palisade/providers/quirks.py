"""What an OpenAI-compatible provider does not accept of OpenAI's request, as data.

Providers that speak OpenAI's API mostly differ in the fields they refuse (Groq answers 400 to
`logprobs`, Cerebras to `presence_penalty`, Mistral to `stream_options`) and in how many choices
they generate. The catalog states each provider's `Quirks`; they are applied to the body where
it leaves for the provider (`RequestContext.outgoing_body`), never by a stage that looks at the
provider. A provider without quirks (`ProviderConfig.quirks` None, OpenAI's) pays one attribute
check.

A dropped field is never dropped without a trace: each one becomes a note, sent to the client in
the `x-palisade-dropped-params` header and kept in the interaction record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from palisade.errors import BadRequest


@dataclass(frozen=True, slots=True)
class Quirks:
    # Top-level request fields the provider refuses: dropped before the body leaves.
    drops: frozenset[str] = frozenset()
    # The most choices (`n`) the provider generates; a request for more is refused (400), since
    # an answer with fewer choices than asked for would be silently wrong.
    max_choices: int | None = None

    @property
    def stream_options(self) -> bool:
        """The provider accepts `stream_options` (the gateway may ask for stream usage; without
        it the gateway counts a stream's tokens itself)."""
        return "stream_options" not in self.drops

    def check(self, body: dict[str, Any]) -> None:
        """Refuses what cannot be dropped (before anything leaves or is reserved)."""
        limit = self.max_choices
        if limit is not None:
            n = body.get("n")
            if isinstance(n, int) and not isinstance(n, bool) and n > limit:
                raise BadRequest(
                    f"Palisade: this provider generates at most {limit} choice"
                    f"{'s' if limit > 1 else ''} per request (`n`: {n}).",
                    param="n",
                    code="unsupported_parameter",
                )

    def apply(self, body: dict[str, Any]) -> list[str]:
        """Drops the refused fields from `body` (in place); one note per field dropped."""
        self.check(body)
        notes: list[str] = []
        for name in self.drops:
            if name in body:
                del body[name]
                notes.append(f"{name}: dropped (not accepted by the provider)")
        notes.sort()
        return notes


def quirks(drops: tuple[str, ...] = (), max_choices: int | None = None) -> Quirks | None:
    """None when there is nothing to apply, so that such providers pay nothing."""
    if not drops and max_choices is None:
        return None
    return Quirks(frozenset(drops), max_choices)
