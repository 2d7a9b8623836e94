"""Audio in and out: any upload (wav, mp3, ogg, webm, m4a, flac) to 16 kHz mono samples, and
samples back to wav / mp3 / opus / flac / aac / raw pcm bytes.

PyAV (`av`, which faster-whisper depends on) carries its own FFmpeg libraries, so no `ffmpeg`
program is needed. WAV goes through the standard library and works even without `av`.
"""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass

import numpy as np

from .errors import BadAudioError, BadSpeechRequestError, MediaUnavailableError

SAMPLE_RATE = 16_000  # what Whisper reads
# the speech formats of OpenAI's /v1/audio/speech and their container / codec / media type
SPEECH_FORMATS = {
    "wav": ("wav", "pcm_s16le", "audio/wav"),
    "mp3": ("mp3", "libmp3lame", "audio/mpeg"),
    "opus": ("ogg", "libopus", "audio/ogg"),
    "flac": ("flac", "flac", "audio/flac"),
    "aac": ("adts", "aac", "audio/aac"),
    "pcm": ("", "", "audio/pcm"),  # raw 16-bit little-endian mono at 24 kHz, as OpenAI sends
}


@dataclass
class Audio:
    """Mono float32 samples in [-1, 1] at `rate` Hz."""

    samples: np.ndarray
    rate: int

    @property
    def seconds(self) -> float:
        return len(self.samples) / float(self.rate)


def _av():
    try:
        import av
    except ImportError:
        raise MediaUnavailableError(
            "reading and writing compressed audio needs PyAV: pip install 'liquidcare[media]'"
        ) from None
    return av


def decode(data: bytes, rate: int = SAMPLE_RATE, max_seconds: float | None = None,
           name: str = "the file") -> Audio:
    """Decode any audio container to mono float32 at `rate` Hz; a clear error when it is not
    audio, holds no sound, or (with `max_seconds`) runs too long."""
    if not data:
        raise BadAudioError(f"{name} is empty")
    av = _av()
    chunks: list[np.ndarray] = []
    total = 0
    try:
        with av.open(io.BytesIO(data), mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise BadAudioError(f"{name} has no audio stream")
            resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
            for frame in container.decode(audio=0):
                for out in resampler.resample(frame):
                    chunk = out.to_ndarray().reshape(-1)
                    chunks.append(chunk)
                    total += len(chunk)
                if max_seconds is not None and total > max_seconds * rate:
                    from .errors import AudioTooLongError

                    raise AudioTooLongError(
                        f"{name} is longer than the {max_seconds:g} s this server transcribes")
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
    except (BadAudioError, MediaUnavailableError):
        raise
    except av.error.FFmpegError as err:
        raise BadAudioError(f"{name} could not be read as audio ({err.strerror or err})") from None
    except (ValueError, EOFError) as err:
        raise BadAudioError(f"{name} could not be read as audio ({err})") from None
    if not chunks or sum(len(c) for c in chunks) == 0:
        raise BadAudioError(f"{name} holds no sound")
    samples = np.concatenate(chunks).astype(np.float32) / 32768.0
    return Audio(samples, rate)


def read_wav(data: bytes) -> Audio:
    """A 16-bit PCM WAV (what espeak-ng and piper write) without PyAV."""
    try:
        with wave.open(io.BytesIO(data)) as w:
            rate, channels, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
            frames = w.readframes(w.getnframes())
    except (wave.Error, EOFError) as err:
        raise BadAudioError(f"not a WAV file ({err})") from None
    if width != 2:
        raise BadAudioError(f"only 16-bit WAV is read here, this one has {8 * width}-bit samples")
    samples = np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1)
    return Audio(samples, rate)


def to_int16(samples: np.ndarray) -> np.ndarray:
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2")


def wav_bytes(audio: Audio) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(audio.rate)
        w.writeframes(to_int16(audio.samples).tobytes())
    return buf.getvalue()


def encode(audio: Audio, fmt: str) -> bytes:
    """The audio in one of `SPEECH_FORMATS`."""
    if fmt not in SPEECH_FORMATS:
        raise BadSpeechRequestError(
            f"response_format must be one of {', '.join(SPEECH_FORMATS)}, got {fmt!r}")
    if fmt == "wav":
        return wav_bytes(audio)
    if fmt == "pcm":  # at OpenAI's 24 kHz, resampled: the one path, streamed or not
        from .stream import encode_stream

        return b"".join(encode_stream([audio], "pcm"))
    av = _av()
    container_name, codec, _ = SPEECH_FORMATS[fmt]
    # opus only runs at 48 kHz (and a few lower rates); the others keep the voice's own rate
    rate = 48_000 if codec == "libopus" else audio.rate
    buf = io.BytesIO()
    with av.open(buf, mode="w", format=container_name) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(to_int16(audio.samples).reshape(1, -1), format="s16",
                                           layout="mono")
        frame.sample_rate = audio.rate
        resampler = av.AudioResampler(format=stream.format.name, layout="mono", rate=rate)
        frames = [*resampler.resample(frame), *resampler.resample(None)]
        for f in frames:
            for packet in stream.encode(f):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


def media_type(fmt: str) -> str:
    return SPEECH_FORMATS[fmt][2]
