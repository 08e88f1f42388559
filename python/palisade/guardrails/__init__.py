"""Guardrails: the policies a proxy applies to requests, answers and tool calls."""
