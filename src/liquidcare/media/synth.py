"""Test material made here, never collected: medicine boxes drawn with Pillow and speech clips
spoken by our own voices, with the damage a real photo or microphone adds (tilt, blur, JPEG,
noise). The benchmarks and the tests measure the readers on these.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .audio import Audio

FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype/liberation")
FONTS = ("DejaVuSans-Bold.ttf", "DejaVuSans.ttf", "LiberationSans-Bold.ttf",
         "LiberationSans-Regular.ttf", "DejaVuSerif-Bold.ttf", "LiberationSerif-Bold.ttf")


def font_path(name: str) -> str | None:
    for folder in FONT_DIRS:
        path = Path(folder) / name
        if path.exists():
            return str(path)
    return None


@dataclass
class Box:
    lines: list[str]  # the printed text, top to bottom (the first is the medicine's name)


def render_box(box: Box, tilt: float = 0.0, blur: float = 0.0, jpeg: int | None = None,
               seed: int = 0, width: int = 1400) -> bytes:
    """A photo of the front of a medicine box: coloured band, name, dose, count, maker."""
    from PIL import Image, ImageDraw, ImageFilter, ImageFont

    rng = random.Random(seed)
    bold = font_path(FONTS[rng.randrange(0, len(FONTS), 2)]) or font_path("DejaVuSans-Bold.ttf")
    plain = font_path(FONTS[1 + rng.randrange(0, len(FONTS) - 1, 2)]) or bold
    height = int(width * 0.55)
    band = rng.choice([(36, 82, 122), (160, 30, 40), (20, 110, 70), (110, 60, 140)])
    img = Image.new("RGB", (width, height), (250, 250, 246))
    draw = ImageDraw.Draw(img)
    draw.rectangle([0, 0, width, int(height * 0.12)], fill=band)
    draw.rectangle([0, int(height * 0.9), width, height], fill=band)
    y = int(height * 0.18)
    sizes = [int(width * 0.075), int(width * 0.055)] + [int(width * 0.035)] * 8
    for i, line in enumerate(box.lines):
        font = ImageFont.truetype(bold if i < 2 else plain, sizes[i]) if bold else \
            ImageFont.load_default()
        draw.text((int(width * 0.07), y), line, fill=(20, 20, 25), font=font)
        y += int(sizes[i] * 1.45)
    # the photo: a table around the box, the box turned, a little out of focus, JPEG'd
    canvas = Image.new("RGB", (int(width * 1.25), int(height * 1.5)), (200, 190, 175))
    rotated = img.rotate(tilt, resample=Image.BICUBIC, expand=True, fillcolor=(200, 190, 175))
    canvas = canvas.resize((max(canvas.width, rotated.width + 40),
                            max(canvas.height, rotated.height + 40)))
    canvas.paste(rotated, ((canvas.width - rotated.width) // 2,
                           (canvas.height - rotated.height) // 2))
    if blur:
        canvas = canvas.filter(ImageFilter.GaussianBlur(blur))
    buf = io.BytesIO()
    if jpeg:
        canvas.save(buf, format="JPEG", quality=jpeg)
    else:
        canvas.save(buf, format="PNG")
    return buf.getvalue()


def add_noise(audio: Audio, snr_db: float, seed: int = 0) -> Audio:
    """`audio` with white noise at `snr_db` decibels below the speech's power."""
    rng = np.random.default_rng(seed)
    power = float(np.mean(audio.samples ** 2)) or 1e-8
    noise = rng.normal(0.0, np.sqrt(power / 10 ** (snr_db / 10)), len(audio.samples))
    return Audio(np.clip(audio.samples + noise.astype(np.float32), -1, 1), audio.rate)


def resample(audio: Audio, rate: int) -> Audio:
    """Linear-interpolation resampling (enough for test clips; PyAV does it for uploads)."""
    if audio.rate == rate:
        return audio
    n = int(round(len(audio.samples) * rate / audio.rate))
    x = np.linspace(0, len(audio.samples) - 1, n)
    return Audio(np.interp(x, np.arange(len(audio.samples)), audio.samples).astype(np.float32),
                 rate)


def any_box_photo(**kwargs: Any) -> bytes:
    return render_box(Box(["FUROSEMIDA", "40 mg", "30 comprimidos", "Vía oral"]), **kwargs)
