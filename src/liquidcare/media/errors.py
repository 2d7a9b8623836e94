"""The media errors: each names the problem and, for a missing package, what to install.

They subclass `liquidcare.errors.UserError` and carry an HTTP `status`, so the command line prints
them in one line and the server answers with that status (its error handler reads `status`).
"""

from __future__ import annotations

from liquidcare.errors import UserError

INSTALL_EXTRA = "pip install 'liquidcare[media]'"
INSTALL_DEBIAN = "apt-get install espeak-ng tesseract-ocr tesseract-ocr-spa"


class MediaError(UserError):
    """Base class of the media errors (a 400 unless a subclass says otherwise)."""

    status = 400


class MediaUnavailableError(MediaError):
    """A voice or OCR package is not installed: a 501 telling what to install."""

    status = 501


class BadAudioError(MediaError):
    """The upload is not audio we can decode (or holds no sound)."""

    status = 400


class AudioTooLongError(MediaError):
    """The audio is longer than the server accepts."""

    status = 413


class BadImageError(MediaError):
    """A photo that is not an image we can read, or is too large."""

    status = 400


class BadSpeechRequestError(MediaError):
    """A speech request we cannot satisfy (unknown voice, format, empty text)."""

    status = 400


class MediaBusyError(MediaError):
    """Every speech/OCR slot is taken for longer than a client should wait."""

    status = 503
    retry_after = 5
