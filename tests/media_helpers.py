"""Shared pieces of the media tests: skip (outside CI only) when a voice/OCR package is missing,
a Whisper model prepared once per checkout, and a store with a twin who takes furosemide."""

from __future__ import annotations

import os

import pytest


def need(what: str) -> None:
    """Skip when `what` ('stt', 'piper', 'espeak', 'ocr', 'av') cannot run here; under CI=true
    a missing package is a failure instead (CI installs them: make test)."""
    from liquidcare.media import ocr, stt, tts

    missing = None
    if what == "stt":
        missing = stt.Transcriber.available()
    elif what == "piper":
        missing = None if tts.piper_available() else tts.INSTALL_PIPER
    elif what == "espeak":
        missing = None if tts.espeak_binary() else tts.INSTALL_ESPEAK
    elif what == "ocr":
        missing = ocr.available()
    elif what == "av":
        try:
            import av  # noqa: F401
        except ImportError:
            missing = "PyAV is not installed: pip install 'liquidcare[media]'"
    else:
        raise ValueError(what)
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the media tests must run in CI: {missing}")
        pytest.skip(missing)


def care_world(path):
    """A SQLite store with a carer, another carer and a Spanish twin on furosemide."""
    from liquidcare.feedback import open_store

    store = open_store(path)
    carer, key = store.add_user("Ana", role="carer")
    other, other_key = store.add_user("Olga", role="carer")
    twin = store.create_twin({
        "name": "Carmen", "language": "es", "age": 84, "conditions": ["insuficiencia cardiaca"],
        "medications": [{"name": "Furosemida", "dose": "40 mg", "schedule": ["08:00"]},
                        {"name": "Sintrom", "dose": "4 mg", "schedule": ["20:00"]}],
    }, by=carer)
    return store, carer, key, twin, other_key
