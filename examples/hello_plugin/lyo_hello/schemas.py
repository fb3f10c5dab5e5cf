"""The plugin's request and response bodies (validated by quart-schema)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field


class Greeting(BaseModel):
    message: str
    starts: int


class GreetQuery(BaseModel):
    excited: bool = False


class GreetRequest(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    excited: bool = False


class CheerRequest(BaseModel):
    user_id: str = Field(min_length=1, max_length=128)
    message: str | None = Field(default=None, min_length=1, max_length=200)


class CheerOut(BaseModel):
    id: int
    user_id: str
    message: str
    lesson_id: UUID | None
    created_at: datetime


class CountdownRequest(BaseModel):
    start: int = Field(default=3, ge=1, le=10)
