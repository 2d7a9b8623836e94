"""Speech as a stream of bytes: each sentence's audio is encoded and handed on as soon as it is
made, in any of OpenAI's speech formats.

- `wav`: a header whose RIFF and data sizes are 0xFFFFFFFF ("until the end of the stream", as
  streamed WAV is written; FFmpeg, browsers and Python's `wave` read it to the end), then the
  16-bit samples as they come. Standard library only.
- `pcm`: headerless 16-bit little-endian mono at 24 kHz, what OpenAI's `pcm` is, so a client
  that plays it at that rate hears the right pitch (our voices speak at 22.05 kHz; PyAV
  resamples, one resampler for the whole stream so no seam is heard between sentences).
- `mp3`, `opus`, `aac`, `flac`: one PyAV encoder for the whole stream, writing into a sink that
  cannot seek, so the muxer writes nothing it would later go back to fill in (mp3's Xing
  frame, FLAC's total length); what it has written after each sentence is sent. Ogg is told to
  close a page every 20 ms, or it would hold a whole second of opus back.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator

from .audio import SPEECH_FORMATS, Audio, _av, to_int16
from .errors import BadSpeechRequestError

PCM_RATE = 24_000  # OpenAI's pcm
OPEN_SIZE = 0xFFFFFFFF  # "unknown length" in a streamed WAV header


def wav_stream_header(rate: int) -> bytes:
    """A 44-byte mono 16-bit PCM WAV header of unknown length."""
    return (b"RIFF" + struct.pack("<I", OPEN_SIZE) + b"WAVE"
            + b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
            + b"data" + struct.pack("<I", OPEN_SIZE))


class _Sink:
    """A write-only file for PyAV: no `seek`, so FFmpeg treats the output as a pipe."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def write(self, data: bytes) -> int:
        self._buf += data
        return len(data)

    def take(self) -> bytes:
        out = bytes(self._buf)
        self._buf.clear()
        return out


def encode_stream(chunks: Iterable[Audio], fmt: str) -> Iterator[bytes]:
    """Bytes of `chunks` (one voice, one rate) in `fmt`, yielded after each chunk; never an
    empty bytes object. Wrong `fmt` is an error at once, before any chunk is asked for."""
    if fmt not in SPEECH_FORMATS:
        raise BadSpeechRequestError(
            f"response_format must be one of {', '.join(SPEECH_FORMATS)}, got {fmt!r}")
    if fmt == "wav":
        return _wav(chunks)
    return _codec(chunks, fmt, _av())  # PyAV missing: the 501 comes now, not mid-stream


def _wav(chunks: Iterable[Audio]) -> Iterator[bytes]:
    header = False
    for chunk in chunks:
        data = to_int16(chunk.samples).tobytes()
        if not header:
            header = True
            data = wav_stream_header(chunk.rate) + data
        if data:
            yield data


def _codec(chunks: Iterable[Audio], fmt: str, av) -> Iterator[bytes]:  # noqa: ANN001
    container_name, codec, _ = SPEECH_FORMATS[fmt]
    sink = _Sink()
    out = stream = resampler = None
    try:
        for chunk in chunks:
            if resampler is None:
                if fmt == "pcm":
                    rate = PCM_RATE
                    resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
                else:
                    # opus only runs at 48 kHz (and a few lower rates); the rest keep the
                    # voice's own rate
                    rate = 48_000 if codec == "libopus" else chunk.rate
                    options = {"page_duration": "20000"} if container_name == "ogg" else {}
                    out = av.open(sink, mode="w", format=container_name, options=options)
                    stream = out.add_stream(codec, rate=rate)
                    stream.layout = "mono"
                    resampler = av.AudioResampler(format=stream.format.name, layout="mono",
                                                  rate=rate)
            frame = av.AudioFrame.from_ndarray(to_int16(chunk.samples).reshape(1, -1),
                                               format="s16", layout="mono")
            frame.sample_rate = chunk.rate
            _push(resampler.resample(frame), stream, out, sink)
            if data := sink.take():
                yield data
        if resampler is not None:
            _push(resampler.resample(None), stream, out, sink)
            if stream is not None:
                for packet in stream.encode(None):
                    out.mux(packet)
    finally:
        if out is not None:
            out.close()  # writes the trailer into the sink (or frees the muxer on an error)
    if data := sink.take():
        yield data


def _push(frames, stream, out, sink: _Sink) -> None:  # noqa: ANN001
    for frame in frames:
        if stream is None:  # pcm: the resampled samples are the bytes
            sink.write(frame.to_ndarray().reshape(-1).astype("<i2").tobytes())
            continue
        for packet in stream.encode(frame):
            out.mux(packet)
