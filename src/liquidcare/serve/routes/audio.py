"""OpenAI's audio endpoints: POST /v1/audio/transcriptions and POST /v1/audio/speech.

Same shapes as OpenAI's, so `client.audio.transcriptions.create(model=..., file=...)` and
`client.audio.speech.create(model=..., voice=..., input=...)` of the official client work here;
same auth as every /v1 endpoint. Speech is streamed, sentence by sentence as it is made.
Uploads may be up to 25 MB (`limits.UPLOAD_LIMITS`) and 5 minutes long; audio we cannot decode
is a 400 naming the problem; without the speech packages the answer is a 501 saying what to
install. `model` is accepted and ignored: one transcriber (Whisper base) and one set of voices
serve every request.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from liquidcare.media.errors import MediaError, MediaUnavailableError

from ..deps import User
from ..openapi import ERROR_RESPONSES, ErrorBody

router = APIRouter(prefix="/v1/audio", tags=["audio"], responses={
    **ERROR_RESPONSES, 501: {"model": ErrorBody, "description": "The speech packages are not "
                             "installed; the message says which"}})

TRANSCRIPT_FORMATS = ("json", "text", "verbose_json", "srt", "vtt")


class BadTranscriptionRequestError(MediaError):
    status = 400


def _transcriber(request: Request) -> Any:
    from liquidcare.media.stt import default_transcriber

    return getattr(request.app.state, "transcriber", None) or default_transcriber()


def _speaker(request: Request) -> Any:
    from liquidcare.media.tts import default_speaker

    return getattr(request.app.state, "speaker", None) or default_speaker()


@router.post("/transcriptions")
async def transcriptions(
    request: Request, user: User,
    file: Annotated[UploadFile, File(description="the audio: wav, mp3, ogg, webm, m4a, flac")],
    model: Annotated[str, Form(max_length=200)] = "whisper-1",
    language: Annotated[str | None, Form(max_length=12)] = None,
    prompt: Annotated[str | None, Form(max_length=2000)] = None,
    response_format: Annotated[str, Form(max_length=20)] = "json",
    temperature: Annotated[float | None, Form(ge=0.0, le=1.0)] = None,
) -> Any:
    if response_format not in TRANSCRIPT_FORMATS:
        raise BadTranscriptionRequestError(
            f"response_format must be one of {', '.join(TRANSCRIPT_FORMATS)}, "
            f"got {response_format!r}")
    if language and language.split("-")[0].lower() not in ("en", "es"):
        raise BadTranscriptionRequestError(
            f"language must be 'en' or 'es' (or left out to detect it), got {language!r}")
    transcriber = _transcriber(request)
    if transcriber.model_dir is None and (missing := transcriber.available()):
        raise MediaUnavailableError(missing)  # before reading the upload: say it at once
    data = await file.read()
    name = f"the file {file.filename!r}" if file.filename else "the file"
    result = await run_in_threadpool(transcriber.transcribe, data, language or None, prompt,
                                     name)
    if response_format == "text":
        return PlainTextResponse(result.text + "\n")
    if response_format in ("srt", "vtt"):
        from liquidcare.media.stt import subtitles

        return PlainTextResponse(subtitles(result, response_format),
                                 media_type="text/vtt" if response_format == "vtt"
                                 else "application/x-subrip")
    if response_format == "verbose_json":
        return JSONResponse(result.to_verbose_json())
    # OpenAI's json has only `text`; `language` and `duration` are extensions clients ignore
    return JSONResponse({"text": result.text, "language": result.language,
                         "duration": result.duration,
                         "usage": {"type": "duration", "seconds": round(result.duration)}})


class SpeechRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: Annotated[str, Field(max_length=200)] = "tts-1"
    input: Annotated[str, Field(min_length=1, max_length=4096)]
    voice: Annotated[str, Field(max_length=40)] | dict[str, Any] = "auto"
    instructions: Annotated[str, Field(max_length=4096)] | None = None  # accepted, not used
    response_format: Literal["mp3", "opus", "aac", "flac", "wav", "pcm"] = "mp3"
    speed: Annotated[float, Field(ge=0.25, le=4.0)] = 1.0
    stream_format: Literal["audio"] | None = None
    # extension: the language of `input` ("en" / "es"), when the text alone does not say it
    language: Literal["en", "es"] | None = None


@router.post("/speech")
async def speech(request: Request, body: SpeechRequest, user: User) -> Response:
    """Speech made and sent sentence by sentence: the first sound leaves after the first
    sentence is synthesised, not the whole reply (a chunked response; WAV with an open-ended
    header, pcm at 24 kHz, the compressed formats frame by frame)."""
    from liquidcare.media.audio import media_type
    from liquidcare.media.stream import PCM_RATE, encode_stream

    voice = body.voice.get("id", "auto") if isinstance(body.voice, dict) else body.voice
    speaker = _speaker(request)
    # everything that can be wrong with the request is found here, before any sound is made
    name = speaker.resolve(voice, body.input, body.language)
    data = encode_stream(speaker.stream(body.input, name, body.speed, body.language),
                         body.response_format)
    # the first piece is made before the answer starts, so a voice that cannot load or a text
    # with nothing to say is still a 4xx/501, not a stream cut short; the rest follows as made
    first = await run_in_threadpool(next, data, b"")

    def rest() -> Iterator[bytes]:  # a plain generator: Starlette runs it in its thread pool
        yield first
        yield from data

    headers = {"X-Voice": name}
    if body.response_format == "pcm":
        headers["X-Sample-Rate"] = str(PCM_RATE)
    return StreamingResponse(rest(), media_type=media_type(body.response_format),
                             headers=headers)
