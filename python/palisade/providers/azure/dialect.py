"""Azure OpenAI's clients speak OpenAI's dialect (its errors, its streams) but present their key
in an `api-key` header (an Entra ID token as `Authorization: Bearer`)."""

from __future__ import annotations

from collections.abc import Mapping

from palisade.providers.bearer import bearer
from palisade.providers.openai.dialect import OpenAIDialect


class AzureOpenAIDialect(OpenAIDialect):
    credential_hint = "`api-key: ...` (or `Authorization: Bearer ...`)"

    def credential(self, headers: Mapping[str, str]) -> str | None:
        return headers.get("api-key") or bearer(headers)


AZURE_OPENAI = AzureOpenAIDialect()
