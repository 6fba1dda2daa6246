"""The health check's answer."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from api.schemas.base import examples


class Health(BaseModel):
    model_config = examples({"status": "ok"})

    status: Literal["ok"]
