"""A photo in a chat message, turned into text the language model can read.

No vision-language model is packaged anywhere this project can reach, so a photo is read with
OCR (`ocr.read_text`, straightened first), and the model is given that text inside a note saying
it came from a photo and may hold reading errors, plus, when the text names a medicine, whether
it is on the person's medication list (`medicines.match_medicines`). The note is part of the
user's message, so the guard checks it like anything the user typed.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from .errors import BadImageError, MediaBusyError
from .lang import guess_language
from .medicines import MedicineMatch, match_medicines
from .ocr import read_text

MAX_IMAGE_BYTES = 8 * 1024 * 1024
_DATA_URL = re.compile(r"^data:(?P<type>[\w.+-]+/[\w.+-]+)?(?P<params>(;[^;,]*)*?)"
                       r"(?P<b64>;base64)?,(?P<data>.*)$", re.DOTALL)
_OCR_LOCK = threading.Lock()  # Tesseract uses both cores; two at once only slow each other


def decode_data_url(url: str, where: str = "image_url.url") -> bytes:
    """The bytes of a `data:image/...;base64,...` URL. Web addresses are refused: the server
    works offline and never fetches what a message points at."""
    url = url.strip()
    if url.startswith(("http://", "https://")):
        raise BadImageError(f"{where}: this server does not fetch images from the web; send the "
                            "photo itself as a data URL (data:image/jpeg;base64,...)")
    m = _DATA_URL.match(url)
    if not m:
        raise BadImageError(f"{where} must be a data URL (data:image/jpeg;base64,...)")
    kind = (m.group("type") or "").lower()
    if kind and not kind.startswith("image/"):
        raise BadImageError(f"{where} is {kind}, not an image")
    if not m.group("b64"):
        raise BadImageError(f"{where} must be base64-encoded (data:image/...;base64,...)")
    try:
        data = base64.b64decode(m.group("data"), validate=False)
    except (binascii.Error, ValueError) as err:
        raise BadImageError(f"{where} is not valid base64 ({err})") from None
    if len(data) > MAX_IMAGE_BYTES:
        raise BadImageError(f"{where} is {len(data)} bytes; at most {MAX_IMAGE_BYTES} are read")
    return data


@dataclass
class PhotoReading:
    text: str
    angle: float
    seconds: float
    medicines: list[MedicineMatch] = field(default_factory=list)


def read_photo(data: bytes, medications: list[dict[str, Any]] | None = None, lang: str = "en",
               name: str = "the photo", wait_seconds: float = 60.0) -> PhotoReading:
    if not _OCR_LOCK.acquire(timeout=wait_seconds):
        raise MediaBusyError("the photo reader is busy; try again in a few seconds")
    try:
        reading = read_text(data, name=name)
    finally:
        _OCR_LOCK.release()
    return PhotoReading(reading.text, reading.angle, reading.seconds,
                        match_medicines(reading.text, medications, lang))


_NOTE = {
    "en": {
        "head": "[Photo: the text below was read automatically from a photo the user sent; "
                "it may contain reading errors.]",
        "none": "[Photo: the user sent a photo, but no text could be read in it. Ask them to "
                "take it again, closer and in good light, or to read the name aloud.]",
        "check": "Medicine check",
        "unknown": "no medicine name recognised",
    },
    "es": {
        "head": "[Foto: el texto de abajo se ha leído automáticamente de una foto que ha enviado "
                "la persona; puede tener errores de lectura.]",
        "none": "[Foto: la persona ha enviado una foto, pero no se ha podido leer texto en ella. "
                "Pídele que la repita, más cerca y con buena luz, o que lea el nombre en voz "
                "alta.]",
        "check": "Comprobación de medicamentos",
        "unknown": "no se ha reconocido ningún nombre de medicamento",
    },
}


def photo_note(reading: PhotoReading, lang: str, person: str | None = None,
               has_list: bool = False) -> str:
    """The text the model reads in place of the photo."""
    t = _NOTE["es" if lang == "es" else "en"]
    if not reading.text.strip():
        return t["none"]
    quoted = "\n".join(f"> {line}" for line in reading.text.splitlines())
    lines = [t["head"], quoted]
    if reading.medicines:
        checks = "; ".join(m.describe(lang, person, has_list) for m in reading.medicines)
        lines.append(f"{t['check']}: {checks}.")
    elif has_list:
        lines.append(f"{t['check']}: {t['unknown']}.")
    return "\n".join(lines)


def note_language(twin_language: str | None, *texts: str) -> str:
    if twin_language in ("en", "es"):
        return twin_language
    return guess_language(" ".join(texts))
