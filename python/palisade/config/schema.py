"""The JSON Schema of palisade.yaml (`palisade config schema`), so editors complete keys and
flag typos as the loader would."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from palisade.config.file import ConfigFile

# A number, flag or choice may be written as `${VAR}` / `${VAR:-default}`: the file holds text
# there until the loader interpolates it.
_ENV_TEXT = {"type": "string", "pattern": r"\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}"}


def _or_env(schema: JsonSchemaValue) -> JsonSchemaValue:
    return {"anyOf": [schema, _ENV_TEXT]}


class _FileSchema(GenerateJsonSchema):
    def int_schema(self, schema: core_schema.IntSchema) -> JsonSchemaValue:
        return _or_env(super().int_schema(schema))

    def float_schema(self, schema: core_schema.FloatSchema) -> JsonSchemaValue:
        return _or_env(super().float_schema(schema))

    def bool_schema(self, schema: core_schema.BoolSchema) -> JsonSchemaValue:
        return _or_env(super().bool_schema(schema))

    def literal_schema(self, schema: core_schema.LiteralSchema) -> JsonSchemaValue:
        return _or_env(super().literal_schema(schema))


def config_schema() -> dict[str, Any]:
    schema = _without_readme_hints(ConfigFile.model_json_schema(schema_generator=_FileSchema))
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **schema,
        "title": "palisade.yaml",
    }


def _without_readme_hints(value: Any) -> Any:
    # `x-default`, `x-key`, `x-leaf` shape the README's table (config.doc); editors need none.
    if isinstance(value, dict):
        return {k: _without_readme_hints(v) for k, v in value.items() if not k.startswith("x-")}
    if isinstance(value, list):
        return [_without_readme_hints(v) for v in value]
    return value
