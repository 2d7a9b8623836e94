"""Reading the text on a photo (a medicine box, a letter, a label) with Tesseract, after
straightening it.

Tesseract reads a level label exactly but loses a quarter of the characters at a 5° tilt and all
of them at 8°, and nobody holds a box straight for the camera; so the photo is straightened
first. The angle is the one that makes the rows of ink sharpest: text lines rotated level give
a horizontal projection profile of tall peaks (lines) and empty valleys (gaps), so the sum of
squared differences between neighbouring rows is largest there (the projection-profile method,
Postl 1986). It is searched coarse to fine on a small copy of the photo.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import BadImageError, MediaUnavailableError

MAX_PIXELS = 40_000_000  # a 40-megapixel photo; beyond that is a decompression bomb, not a box
MAX_TILT = 15.0  # degrees searched either way
LANGS = "spa+eng"
INSTALL_OCR = ("reading photos needs Tesseract with Spanish and English: apt-get install "
               "tesseract-ocr tesseract-ocr-spa (scripts/system-deps) and Pillow "
               "(pip install 'liquidcare[media]')")


def _pil() -> Any:
    try:
        from PIL import Image
    except ImportError:
        raise MediaUnavailableError(INSTALL_OCR) from None
    return Image


def tesseract_binary() -> str | None:
    return shutil.which("tesseract")


def available() -> str | None:
    """None when photos can be read here, else what to install."""
    try:
        _pil()
    except MediaUnavailableError as err:
        return str(err)
    binary = tesseract_binary()
    if binary is None:
        return INSTALL_OCR
    langs = subprocess.run([binary, "--list-langs"], capture_output=True, text=True,
                           check=False).stdout.split()
    missing = [lang for lang in LANGS.split("+") if lang not in langs]
    if missing:
        return f"Tesseract lacks the language data {', '.join(missing)}: {INSTALL_OCR}"
    return None


def open_image(data: bytes, name: str = "the photo") -> Any:
    """Decode image bytes (JPEG, PNG, WebP, ...) into an RGB PIL image, refusing bombs."""
    Image = _pil()
    from PIL import ImageOps, UnidentifiedImageError

    if not data:
        raise BadImageError(f"{name} is empty")
    try:
        img = Image.open(io.BytesIO(data))
        if img.width * img.height > MAX_PIXELS:
            raise BadImageError(f"{name} is {img.width}×{img.height} pixels; at most "
                                f"{MAX_PIXELS // 1_000_000} megapixels are read")
        img = ImageOps.exif_transpose(img)  # a phone's "rotate 90°" flag, applied
        img.load()
    except UnidentifiedImageError:
        raise BadImageError(f"{name} is not an image we can read (JPEG, PNG, WebP, GIF, BMP)") \
            from None
    except (OSError, SyntaxError, ValueError) as err:
        raise BadImageError(f"{name} could not be decoded ({err})") from None
    if img.mode in ("RGBA", "LA", "P"):
        background = Image.new("RGB", img.size, "white")
        rgba = img.convert("RGBA")
        background.paste(rgba, mask=rgba.split()[-1])
        img = background
    return img.convert("RGB")


def _ink(gray: np.ndarray) -> np.ndarray:
    """1 where there is ink: Otsu's threshold, dark text on light assumed (inverted when the
    photo is mostly dark, as with white print on a coloured box)."""
    hist = np.bincount(gray.reshape(-1), minlength=256).astype(np.float64)
    total = hist.sum()
    levels = np.arange(256)
    weight0 = np.cumsum(hist)
    mean0 = np.cumsum(hist * levels)
    mean_all = mean0[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mean_all * weight0 / total - mean0) ** 2 / (weight0 * (total - weight0))
    threshold = int(np.nanargmax(between))
    ink = gray <= threshold
    if ink.mean() > 0.5:
        ink = ~ink
    return ink


def _sharpness(ink_img: Any, angle: float) -> float:
    rotated = np.asarray(ink_img.rotate(angle, resample=0, expand=True), dtype=np.float32)
    profile = rotated.sum(axis=1)
    return float(np.sum(np.diff(profile) ** 2))


def skew_angle(img: Any, max_tilt: float = MAX_TILT) -> float:
    """The rotation (degrees, counter-clockwise) that levels the text lines of `img`."""
    Image = _pil()
    small = img.convert("L")
    scale = 900 / max(small.size)
    if scale < 1:
        small = small.resize((max(1, int(small.width * scale)), max(1, int(small.height * scale))),
                             Image.BILINEAR)
    ink = _ink(np.asarray(small))
    if ink.sum() < 50:  # a blank photo: nothing to level
        return 0.0
    ink_img = Image.fromarray((ink * 255).astype(np.uint8))
    best, best_score = 0.0, _sharpness(ink_img, 0.0)
    for step, span in ((1.0, max_tilt), (0.25, 1.0), (0.05, 0.25)):
        centre = best
        for angle in np.arange(centre - span, centre + span + 1e-9, step):
            if abs(angle) > max_tilt or abs(angle - centre) < 1e-9:
                continue
            score = _sharpness(ink_img, float(angle))
            if score > best_score:
                best, best_score = float(angle), score
    return round(best, 2)


def straighten(img: Any, angle: float | None = None) -> tuple[Any, float]:
    """`img` rotated level (white fills the corners), and the angle used."""
    Image = _pil()
    angle = skew_angle(img) if angle is None else angle
    if abs(angle) < 0.05:
        return img, 0.0
    return img.rotate(angle, resample=Image.BICUBIC, expand=True, fillcolor="white"), angle


@dataclass
class Reading:
    text: str
    angle: float  # degrees the photo was turned to level it
    seconds: float


def _prepare(img: Any) -> Any:
    Image = _pil()
    gray = img.convert("L")
    # Tesseract reads best with letters some 20-40 pixels tall; phone photos of a box are
    # large, thumbnails small: bring the long side near 1600-2400 pixels
    long_side = max(gray.size)
    if long_side < 1200:
        factor = 1600 / long_side
        gray = gray.resize((int(gray.width * factor), int(gray.height * factor)), Image.LANCZOS)
    elif long_side > 3200:
        factor = 2400 / long_side
        gray = gray.resize((int(gray.width * factor), int(gray.height * factor)), Image.LANCZOS)
    return gray


MIN_WORD_CONFIDENCE = 30.0  # Tesseract's 0-100; below it a "word" is a smudge or a band edge


def tesseract(img: Any, langs: str = LANGS, psm: int = 3, timeout: float = 60.0) -> str:
    """Tesseract's words, line by line, without the ones it has little confidence in (the
    edges of coloured bands, a barcode, the table around the box come out as such)."""
    binary = tesseract_binary()
    if binary is None:
        raise MediaUnavailableError(INSTALL_OCR)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    done = subprocess.run([binary, "stdin", "stdout", "-l", langs, "--psm", str(psm), "tsv"],
                          input=buf.getvalue(), capture_output=True, timeout=timeout, check=False)
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip()
        if "Failed loading language" in message or "Error opening data file" in message:
            raise MediaUnavailableError(f"Tesseract lacks language data ({langs}): {INSTALL_OCR}")
        raise BadImageError(f"Tesseract could not read the photo: {message[-300:]}")
    lines: dict[tuple[str, ...], list[str]] = {}
    for row in done.stdout.decode("utf-8", errors="replace").splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) < 12 or cols[0] != "5" or not cols[11].strip():
            continue
        try:
            confidence = float(cols[10])
        except ValueError:
            continue
        word = cols[11].strip()
        if confidence < MIN_WORD_CONFIDENCE or not any(ch.isalnum() for ch in word):
            continue
        # a "word" far wider than its letters could be is the edge of a band or a shadow
        # ("OO]" over a whole coloured stripe): letters are at most ~2x as wide as tall
        width, height = int(cols[8]), max(1, int(cols[9]))
        if width / len(word) > 2.5 * height:
            continue
        lines.setdefault(tuple(cols[1:5]), []).append(word)
    return "\n".join(" ".join(words) for words in lines.values())


def clean_text(text: str) -> str:
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return "\n".join(line for line in lines if line)


def read_text(image: bytes | Any, name: str = "the photo", straighten_first: bool = True
              ) -> Reading:
    """The text in a photo (bytes or a PIL image): straightened, then read in Spanish+English."""
    start = time.perf_counter()
    img = open_image(image, name) if isinstance(image, (bytes, bytearray)) else image
    angle = 0.0
    if straighten_first:
        img, angle = straighten(img)
    text = clean_text(tesseract(_prepare(img)))
    return Reading(text, angle, time.perf_counter() - start)
