"""Photos in chat messages: OpenAI's image content parts, read into text before the chat turn.

    {"role": "user", "content": [
        {"type": "text", "text": "¿Qué es esto?"},
        {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,..."}}]}

(also `{"type": "file", "file": {"file_data": "data:image/png;base64,...", "filename": ...}}`,
OpenAI's inline file part). Each photo is straightened and read (`liquidcare.media.photos`);
the message the model sees, the guard checks and the store keeps is the user's text followed by
a note holding the read text and, when it names a medicine, whether it is on the twin's list.
The whole request still fits the chat body limit (256 KiB): the web page shrinks photos first.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from liquidcare.media.errors import BadImageError

MAX_IMAGES = 4  # per request: each one is a second or more of OCR on two cores
MAX_URL_CHARS = 400_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ImageURL(_Strict):
    url: Annotated[str, Field(min_length=1, max_length=MAX_URL_CHARS)]
    detail: Literal["auto", "low", "high"] | None = None


class ImagePart(_Strict):
    type: Literal["image_url"]
    image_url: ImageURL


class InlineFile(_Strict):
    file_data: Annotated[str, Field(min_length=1, max_length=MAX_URL_CHARS)] | None = None
    file_id: Annotated[str, Field(max_length=200)] | None = None
    filename: Annotated[str, Field(max_length=255)] | None = None


class FilePart(_Strict):
    type: Literal["file"]
    file: InlineFile


def _image_bytes(part: ImagePart | FilePart, where: str) -> bytes:
    from liquidcare.media.photos import decode_data_url

    if isinstance(part, ImagePart):
        return decode_data_url(part.image_url.url, f"{where}.image_url.url")
    if part.file.file_data is None:
        raise BadImageError(f"{where}.file: uploaded-file ids are not kept by this server; send "
                            "the photo inline as file_data (a data URL)")
    return decode_data_url(part.file.file_data, f"{where}.file.file_data")


def _twin(store: Any, user: Any, twin_id: Any, conversation_id: Any) -> Any:
    """The twin the chat is about (read through the store's rules: 403/404 as for the chat)."""
    if twin_id is None and conversation_id is not None:
        twin_id = getattr(store.get_conversation(conversation_id, by=user), "twin_id", None)
    return None if twin_id is None else store.get_twin(twin_id, by=user)


def has_images(messages: list[Any]) -> bool:
    return any(isinstance(p, (ImagePart, FilePart))
               for m in messages if not isinstance(m.content, str) for p in m.content)


def chat_messages(messages: list[Any], store: Any = None, user: Any = None, twin_id: Any = None,
                  conversation_id: Any = None) -> list[dict[str, str]]:
    """The request's messages as role + text, each photo replaced by its reading's note."""
    if not has_images(messages):
        return [{"role": m.role, "content": m.text()} for m in messages]
    from liquidcare.media.photos import note_language, photo_note, read_photo

    count = sum(isinstance(p, (ImagePart, FilePart))
                for m in messages if not isinstance(m.content, str) for p in m.content)
    if count > MAX_IMAGES:
        raise BadImageError(f"a request may carry at most {MAX_IMAGES} photos, this one has "
                            f"{count}")
    twin = _twin(store, user, twin_id, conversation_id) if store is not None else None
    medications = list(getattr(twin, "medications", None) or [])
    person = getattr(twin, "name", None)
    out = []
    for i, m in enumerate(messages):
        if isinstance(m.content, str):
            out.append({"role": m.role, "content": m.content})
            continue
        pieces: list[str] = []
        text = m.text()
        for j, part in enumerate(m.content):
            if not isinstance(part, (ImagePart, FilePart)):
                continue
            where = f"messages[{i}].content[{j}]"
            if m.role != "user":
                raise BadImageError(f"{where}: only user messages may carry photos")
            lang = note_language(getattr(twin, "language", None), text)
            reading = read_photo(_image_bytes(part, where), medications, lang, name=where)
            pieces.append(photo_note(reading, lang, person, has_list=twin is not None))
        content = "\n\n".join(p for p in [text.strip(), *pieces] if p)
        out.append({"role": m.role, "content": content})
    return out
