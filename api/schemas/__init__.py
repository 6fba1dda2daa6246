"""Pydantic models of every body and answer of the HTTP API, one module per area."""
