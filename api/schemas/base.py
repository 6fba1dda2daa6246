"""Shapes shared by every area: times with a zone, the position every write answers, and a
closed set of the vocabulary as an answer's or a query's allowed words (`one_of`) or in a
description (`in_words`)."""

from __future__ import annotations

from datetime import datetime, timezone
from enum import StrEnum
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator


def _with_zone(moment: datetime) -> datetime:
    # Stored times are UTC; a store that dropped the zone must not make the API drop it too.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


Moment = Annotated[datetime, AfterValidator(_with_zone)]
"""An ISO 8601 time with its zone, in answers."""

Position = Annotated[
    int,
    Field(
        description="the position of the write's last event; pass it as `min_position` to "
        "a GET to read your own write",
        examples=[42],
    ),
]


def one_of(words: type[StrEnum]) -> Any:
    """The values of one of domain/vocabulary.py's enums as a `Literal`: an inline enum in the
    OpenAPI document, where the Enum class itself would become a component of its own."""
    return Literal[tuple(word.value for word in words)]


def in_words(words: type[StrEnum]) -> str:
    """The values of one of domain/vocabulary.py's enums for a description: "a, b or c"."""
    *others, last = (word.value for word in words)
    return f"{', '.join(others)} or {last}" if others else last


def examples(*items: dict[str, Any]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": list(items)})


def body_config(*items: dict[str, Any]) -> ConfigDict:
    """Bodies refuse fields they do not know, so a typo is a 422 naming it, not silence."""
    return ConfigDict(extra="forbid", json_schema_extra={"examples": list(items)})


class Written(BaseModel):
    model_config = examples({"id": "0b8f7f43-3c52-4d4e-9a52-0b6c0e0f0a11", "position": 42})

    id: UUID
    position: Position


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, (list, tuple)):
        return any(_has_nul(item) for item in value)
    return False


class Body(BaseModel):
    """Base of every request body: unknown fields are refused, and so is a NUL character in
    any text (no store keeps one in a text column, so it is refused at the door, by name)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _without_nul(cls, value: Any) -> Any:
        if _has_nul(value):
            raise ValueError("must not contain a NUL character")
        return value
