"""Request bodies: the OpenAI chat-completions schema (the part we serve) and our own endpoints.

Every model forbids unknown fields, so a misspelt option is a 422 naming it rather than being
ignored; sizes are bounded so one request cannot hold the model (or the memory) hostage.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .images import FilePart, ImagePart, has_images

MAX_MESSAGES = 64
MAX_CONTENT_CHARS = 8_000
MAX_TOKENS = 1_024
MAX_BODY_BYTES = 256 * 1024


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TextPart(Strict):
    type: Literal["text"]
    text: Annotated[str, Field(max_length=MAX_CONTENT_CHARS)]


class ChatMessage(Strict):
    role: Literal["system", "user", "assistant", "developer"]
    # OpenAI lets content be a string or a list of parts: text, and photos (serve/images.py)
    content: Annotated[str, Field(max_length=MAX_CONTENT_CHARS)] | list[
        Annotated[TextPart | ImagePart | FilePart, Field(discriminator="type")]]
    name: Annotated[str, Field(max_length=64)] | None = None

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content if isinstance(part, TextPart))


class StreamOptions(Strict):
    include_usage: bool = False


class ChatCompletionRequest(Strict):
    model: Annotated[str, Field(max_length=200)] | None = None
    messages: Annotated[list[ChatMessage], Field(min_length=1, max_length=MAX_MESSAGES)]
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: Annotated[int, Field(ge=1, le=MAX_TOKENS)] | None = None
    max_completion_tokens: Annotated[int, Field(ge=1, le=MAX_TOKENS)] | None = None
    temperature: Annotated[float, Field(ge=0.0, le=2.0)] | None = None
    top_p: Annotated[float, Field(gt=0.0, le=1.0)] | None = None
    # OpenAI's repetition controls (-2..2), applied to the reply's tokens; see serve/decoding.py
    frequency_penalty: Annotated[float, Field(ge=-2.0, le=2.0)] | None = None
    presence_penalty: Annotated[float, Field(ge=-2.0, le=2.0)] | None = None
    n: Annotated[int, Field(ge=1, le=1)] | None = None
    seed: int | None = None
    stop: Annotated[str, Field(min_length=1, max_length=64)] | Annotated[
        list[Annotated[str, Field(min_length=1, max_length=64)]], Field(max_length=4)] | None = None
    # the twin this conversation is about (see docs/serve.md: `user` = twin id)
    user: Annotated[str, Field(max_length=64)] | None = None
    # extension: continue a stored conversation (also accepted as the X-Conversation-Id header)
    conversation_id: int | Annotated[str, Field(max_length=20)] | None = None

    @field_validator("messages")
    @classmethod
    def _ends_with_user(cls, messages: list[ChatMessage]) -> list[ChatMessage]:
        if messages[-1].role != "user":
            raise ValueError("the last message must be the user's (role 'user')")
        if not messages[-1].text().strip() and not has_images(messages[-1:]):
            raise ValueError("the last user message is empty")
        return messages

    def stops(self) -> list[str]:
        if self.stop is None:
            return []
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)


class FeedbackRequest(Strict):
    message_id: int
    value: Literal[1, -1]
    comment: Annotated[str, Field(max_length=2_000)] | None = None


class TwinPatch(Strict):
    expected_version: int
    changes: dict[str, Any]


class ReloadRequest(Strict):
    model: Annotated[str, Field(min_length=1, max_length=500)]
