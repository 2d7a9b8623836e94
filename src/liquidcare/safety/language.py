"""Telling English from Spanish, so that a safe reply speaks the user's language.

The identifier lives in `liquidcare.text` (py3langid restricted to en/es), shared with the
rest of the project; this module keeps the safety package's public names.
"""

from liquidcare.text import conversation_language, detect_language

__all__ = ["conversation_language", "detect_language"]
