"""Palisade: a security gateway for LLM traffic."""

__version__ = "0.1.0"
