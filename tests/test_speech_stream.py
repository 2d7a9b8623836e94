"""Speech sent as it is made: sentences cut from a reply, `Speaker.stream` making one sentence per
chunk taken, every format encoded chunk by chunk, and `POST /v1/audio/speech` sending the first
sentence's sound before the second sentence has been synthesised (shown by a synthesiser that
will not make sentence two until the client holds sentence one's bytes) -- by structure, never
by timing."""

from __future__ import annotations

import io
import threading
import wave

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from media_helpers import care_world, need
from serve_helpers import LiveServer, tiny_engine

from liquidcare.media import audio as audio_mod
from liquidcare.media import tts
from liquidcare.media.errors import BadSpeechRequestError, MediaUnavailableError
from liquidcare.media.sentences import split_sentences
from liquidcare.media.stream import PCM_RATE, encode_stream, wav_stream_header
from liquidcare.serve.app import create_app

RATE = 22_050
THREE = "It is eight o'clock. Time for your tablet with water! Shall we walk after breakfast?"


class Recording(tts.Speaker):
    """A speaker whose voice is a tone a tenth of a second per word; it notes each sentence it
    is asked for (`asked`) and has made (`made`), and may wait for `gates[i]` before making
    sentence i, or fail on one."""

    def __init__(self, gates: dict[int, threading.Event] | None = None,
                 fail_at: int | None = None, error: Exception | None = None,
                 threads: int = 1) -> None:
        super().__init__(threads)  # 1: sentence i is the i-th asked for
        self.asked: list[str] = []
        self.made: list[str] = []
        self.gates = gates or {}
        self.fail_at, self.error = fail_at, error
        self.gate_timed_out = False

    def synthesise(self, sentence: str, name: str, speed: float) -> audio_mod.Audio:
        i = len(self.asked)
        self.asked.append(sentence)
        if i in self.gates and not self.gates[i].wait(30):
            self.gate_timed_out = True  # the client never got sentence i-1: nothing streamed
        if i == self.fail_at:
            raise self.error or RuntimeError("the voice broke")
        n = int(0.1 * len(sentence.split()) * RATE)
        self.made.append(sentence)
        return audio_mod.Audio(0.3 * np.sin(np.arange(n) * 2 * np.pi * 440 / RATE)
                               .astype(np.float32), RATE)


def test_a_reply_is_cut_at_sentence_ends_keeping_every_word():
    text = "Buenos días, Carmen. ¿Has dormido bien?  «Sí.» Son las 8.30 de la mañana"
    assert split_sentences(text) == ["Buenos días, Carmen.", "¿Has dormido bien?", "«Sí.»",
                                     "Son las 8.30 de la mañana"]
    assert split_sentences('He said "stop." Then he left.') == ['He said "stop."',
                                                                 "Then he left."]
    long = ", ".join(["one more thing to say"] * 30) + "."
    pieces = split_sentences(long, max_piece=100)
    assert len(pieces) > 1 and all(len(p) <= 100 for p in pieces)
    assert " ".join(pieces) == long  # cut after commas, nothing lost or reordered
    assert split_sentences("   ") == []


def test_a_long_first_sentence_is_cut_at_its_first_pause_so_sound_starts_sooner():
    text = ("Yes, this is a water tablet that helps the heart get rid of extra fluid, so it "
            "is taken in the morning. Later sentences stay whole, even long ones, like this one.")
    assert split_sentences(text) == [
        "Yes, this is a water tablet that helps the heart get rid of extra fluid,",  # not "Yes,"
        "so it is taken in the morning.",
        "Later sentences stay whole, even long ones, like this one."]
    short = "It is eight o'clock, time for your tablet. Then breakfast."
    assert split_sentences(short) == ["It is eight o'clock, time for your tablet.",
                                      "Then breakfast."]
    no_pause = "A first sentence that is long but has no comma anywhere in it at all. Then more."
    assert split_sentences(no_pause)[0] == no_pause.split(". ")[0] + "."


def test_no_pause_is_added_where_a_sentence_was_cut_at_a_comma(monkeypatch):
    monkeypatch.setattr(tts, "piper_available", lambda: True)
    text = "Yes, this is a water tablet that helps the heart get rid of extra fluid, so. Go."
    chunks = list(Recording().stream(text, "joe"))
    gap = int(tts.SENTENCE_GAP_S["joe"] * RATE)
    assert [len(c.samples) for c in chunks] == [int(1.5 * RATE), int(0.1 * RATE) + gap,
                                                int(0.1 * RATE)]


def test_stream_makes_one_sentence_per_chunk_taken():
    speaker = Recording()
    chunks = speaker.stream(THREE, "espeak-en")
    assert speaker.asked == []  # checked, nothing made yet
    first = next(chunks)
    assert speaker.asked == ["It is eight o'clock."]
    rest = list(chunks)
    assert len(speaker.asked) == 3 and len(rest) == 2
    assert len(first.samples) == int(0.4 * RATE)  # espeak-ng pauses by itself: no gap added
    # speak() is the chunks end to end
    whole = Recording().speak(THREE, "espeak-en")
    assert np.array_equal(whole.samples, np.concatenate([first.samples,
                                                         *(c.samples for c in rest)]))


def test_piper_sentences_get_a_pause_after_all_but_the_last(monkeypatch):
    monkeypatch.setattr(tts, "piper_available", lambda: True)
    chunks = list(Recording().stream(THREE, "joe"))
    gap = int(tts.SENTENCE_GAP_S["joe"] * RATE)
    assert [len(c.samples) for c in chunks] == [int(0.4 * RATE) + gap, int(0.6 * RATE) + gap,
                                                int(0.5 * RATE)]


class Overlapping(tts.Speaker):
    """A voice whose first sentence is only finished once the second has begun: it can only
    be spoken by a speaker that makes two sentences at once."""

    def __init__(self) -> None:
        super().__init__(threads=2)
        self.second_started = threading.Event()
        self.started: list[str] = []

    def synthesise(self, sentence: str, name: str, speed: float) -> audio_mod.Audio:
        self.started.append(sentence)
        if sentence == split_sentences(THREE)[1]:
            self.second_started.set()
        elif sentence == split_sentences(THREE)[0]:
            assert self.second_started.wait(10), "sentence two was not made alongside one"
        n = int(0.1 * len(sentence.split()) * RATE)
        return audio_mod.Audio(np.full(n, 0.1, np.float32), RATE)


def test_piper_makes_two_sentences_at_once_and_sends_them_in_order(monkeypatch):
    monkeypatch.setattr(tts, "piper_available", lambda: True)
    speaker = Overlapping()
    chunks = speaker.stream(THREE, "joe")
    first = next(chunks)
    gap = int(tts.SENTENCE_GAP_S["joe"] * RATE)
    assert len(first.samples) == int(0.4 * RATE) + gap  # sentence one came first
    assert speaker.started[:2] == split_sentences(THREE)[:2] or \
        speaker.started[:2] == split_sentences(THREE)[1::-1]  # one and two ran together
    chunks.close()  # a listener who leaves stops the stream
    rest = [int(0.6 * RATE) + gap, int(0.5 * RATE)]
    assert [len(c.samples) for c in Overlapping().stream(THREE, "joe")][1:] == rest
    # espeak-ng's sentences (a few ms each) are still made one by one, as they are taken
    espeak = Recording(threads=2)
    next(espeak.stream(THREE, "espeak-en"))
    assert espeak.asked == split_sentences(THREE)[:1]


def test_bad_requests_fail_before_anything_is_made():
    speaker = Recording()
    for text, voice, speed, message in [("", "auto", 1.0, "nothing to say"),
                                        ("hello", "robot", 1.0, "unknown voice 'robot'"),
                                        ("hello", "auto", 9.0, "speed must be between"),
                                        ("x" * 5000, "auto", 1.0, "at most 4096")]:
        with pytest.raises(BadSpeechRequestError, match=message):
            speaker.stream(text, voice, speed)
    assert speaker.asked == []
    with pytest.raises(BadSpeechRequestError, match="response_format must be one of"):
        encode_stream(iter([]), "ogg-vorbis")


class Silent(Recording):
    def synthesise(self, sentence, name, speed):  # noqa: ANN001, ANN201
        self.asked.append(sentence)
        return audio_mod.Audio(np.zeros(0, np.float32), RATE)


def test_a_text_with_nothing_to_say_is_an_error_not_an_empty_stream():
    with pytest.raises(BadSpeechRequestError, match="nothing the voice can say"):
        list(Silent().stream("... !!! ...", "espeak-en"))


def taken(chunks: list[audio_mod.Audio], log: list[int]):
    for i, chunk in enumerate(chunks):
        log.append(i)
        yield chunk


def tones(seconds=(0.5, 0.8, 0.3)) -> list[audio_mod.Audio]:
    return [audio_mod.Audio((0.3 * np.sin(np.arange(int(s * RATE)) * 2 * np.pi * 440 / RATE))
                            .astype(np.float32), RATE) for s in seconds]


def test_a_streamed_wav_reads_back_with_its_open_ended_header():
    log: list[int] = []
    parts = encode_stream(taken(tones(), log), "wav")
    first = next(parts)
    assert log == [0] and first[:4] == b"RIFF" and first[40:44] == b"\xff\xff\xff\xff"
    assert len(first) == 44 + 2 * int(0.5 * RATE)  # the header and sentence one, no more
    data = first + b"".join(parts)
    assert data.startswith(wav_stream_header(RATE))
    back = audio_mod.read_wav(data)  # Python's wave reads to the end of the bytes
    assert back.rate == RATE and len(back.samples) == int(1.6 * RATE)
    with wave.open(io.BytesIO(data)) as w:
        assert w.getframerate() == RATE and w.getnchannels() == 1
    try:
        import av  # noqa: F401
    except ImportError:
        return
    # FFmpeg (PyAV here; browsers' decoders are FFmpeg's too) reads the open-ended file to its end
    assert audio_mod.decode(data, RATE).seconds == pytest.approx(1.6, abs=1e-3)


@pytest.mark.parametrize("fmt", ["pcm", "mp3", "opus", "aac", "flac"])
def test_every_format_sends_a_piece_after_each_sentence(fmt):
    need("av")
    log: list[int] = []
    parts = encode_stream(taken(tones(), log), fmt)
    first = next(parts)
    assert first and log == [0]  # the first bytes left before sentence two was asked for
    rest = list(parts)
    assert len(rest) >= 2 and all(rest)
    data = first + b"".join(rest)
    if fmt == "pcm":  # OpenAI's pcm: 24 kHz 16-bit mono, whatever the voice's rate
        assert len(data) // 2 == pytest.approx(1.6 * PCM_RATE, abs=0.01 * PCM_RATE)
        return
    assert audio_mod.decode(data).seconds == pytest.approx(1.6, abs=0.1)


@pytest.fixture
def served(tmp_path):
    store, carer, key, twin, _ = care_world(tmp_path / "care.db")
    engine = tiny_engine()
    app = create_app(engine, store, default_max_tokens=4)
    yield app, key
    engine.close()


def test_the_first_sentence_is_sent_before_the_second_is_made(served):
    app, key = served
    gate = threading.Event()
    app.state.speaker = speaker = Recording(gates={1: gate})
    server = LiveServer(app).start()
    try:
        with httpx.Client(timeout=60) as client, client.stream(
                "POST", server.url + "/v1/audio/speech",
                headers={"Authorization": f"Bearer {key}"},
                json={"model": "tts-1", "input": THREE, "voice": "espeak-en",
                      "response_format": "wav"}) as r:
            assert r.status_code == 200 and r.headers["content-type"] == "audio/wav"
            assert r.headers["x-voice"] == "espeak-en"
            assert "content-length" not in r.headers  # chunked: sent as made
            pieces = r.iter_raw()
            got = next(pieces)
            while len(got) < 44 + 2 * int(0.4 * RATE):
                got += next(pieces)
            # the client holds all of sentence one while sentence two waits to be made
            assert speaker.made == ["It is eight o'clock."]
            gate.set()
            got += b"".join(pieces)
        assert not speaker.gate_timed_out and len(speaker.made) == 3
        assert len(audio_mod.read_wav(got).samples) == int(1.5 * RATE)
    finally:
        gate.set()
        server.stop()


def test_the_openai_client_reads_the_stream(served):
    from openai import OpenAI

    app, key = served
    app.state.speaker = Recording()
    server = LiveServer(app).start()
    try:
        client = OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0)
        with client.audio.speech.with_streaming_response.create(
                model="tts-1", voice="espeak-en", input=THREE, response_format="wav") as r:
            data = b"".join(r.iter_bytes(4096))
        assert audio_mod.read_wav(data).seconds == pytest.approx(1.5, abs=1e-3)
        if tts.espeak_binary() is None:
            return
        app.state.speaker = tts.Speaker()  # a real voice, pcm at 24 kHz
        with client.audio.speech.with_streaming_response.create(
                model="tts-1", voice="espeak-en", input=THREE, response_format="pcm") as r:
            assert r.headers["x-sample-rate"] == str(PCM_RATE)
            pcm = r.read()
        assert len(pcm) % 2 == 0 and len(pcm) / 2 / PCM_RATE > 3.0
    finally:
        server.stop()


def test_errors_in_the_first_sentence_are_still_http_errors(served):
    app, key = served
    headers = {"Authorization": f"Bearer {key}"}
    with TestClient(app) as c:
        app.state.speaker = Recording(fail_at=0, error=MediaUnavailableError("install piper"))
        r = c.post("/v1/audio/speech", headers=headers,
                   json={"model": "tts-1", "input": THREE, "voice": "espeak-en"})
        assert r.status_code == 501 and "install piper" in r.json()["error"]["message"]
        app.state.speaker = Silent()
        r = c.post("/v1/audio/speech", headers=headers,
                   json={"model": "tts-1", "input": "... !!!", "voice": "espeak-en"})
        assert r.status_code == 400 and "nothing the voice" in r.json()["error"]["message"]
        r = c.post("/v1/audio/speech", headers=headers,
                   json={"model": "tts-1", "input": "hi", "response_format": "ogg"})
        assert r.status_code == 422 and "response_format" in r.json()["error"]["message"]
        # a failure after the first sentence cannot change the status: the stream just ends
        app.state.speaker = Recording(fail_at=1)
        r = c.post("/v1/audio/speech", headers=headers,
                   json={"model": "tts-1", "input": THREE, "voice": "espeak-en",
                         "response_format": "wav"})
        assert r.status_code == 200
        assert len(r.content) == 44 + 2 * int(0.4 * RATE)
