"""English or Spanish? For choosing a voice and the language of a photo's note.

The project's one language identifier (`liquidcare.text.detect_language`: py3langid restricted to
en/es, the caller's default when unsure) is used; an explicit language always wins over it.
"""

from __future__ import annotations


def guess_language(text: str, default: str = "en") -> str:
    from liquidcare.text import detect_language

    return detect_language(text, default=default)
