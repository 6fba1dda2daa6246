"""Pydantic models of every body and answer of the HTTP API, one module per area, and how an
answer is shown to its caller (`masking`: personal fields as "***" for auditors).

Modules here may import `domain/` (its vocabulary) and `api.http.auth` (who the caller is);
nothing else of `api/`, and no store.
"""
