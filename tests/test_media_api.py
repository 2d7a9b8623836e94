"""The audio endpoints and photos in chat, over HTTP: the official `openai` client against a live
server, auth, limits, bad input, and the 501 that names what to install."""

from __future__ import annotations

import base64

import httpx
import pytest
from fastapi.testclient import TestClient
from media_helpers import care_world, need
from serve_helpers import LiveServer, tiny_engine

from liquidcare.media import audio as audio_mod
from liquidcare.media import medicines, stt, synth, tts
from liquidcare.serve.app import create_app


@pytest.fixture(scope="module")
def transcriber(embedded_home):
    need("stt")  # the joined model is kept in pytest's cache folder, joined once per checkout
    return stt.Transcriber(stt.prepare_whisper_base(embedded_home / "media" / "whisper-base"))


@pytest.fixture
def world(tmp_path):
    return care_world(tmp_path / "care.db")


@pytest.fixture
def app(world, transcriber):
    engine = tiny_engine()
    app = create_app(engine, world[0], default_max_tokens=4)
    app.state.transcriber = transcriber
    yield app
    engine.close()


def long_engine():
    """The tiny model with room for a photo's note (its rotary positions are computed on the
    fly, so a longer context is only a config value)."""
    engine = tiny_engine()
    engine.loaded.model.config.max_position_embeddings = 2048
    return engine


def auth(key):
    return {"Authorization": f"Bearer {key}"}


def spoken_wav(text, voice="espeak-es"):
    need("espeak")
    return audio_mod.wav_bytes(tts.Speaker().speak(text, voice))


def test_openai_client_transcribes_and_speaks_against_a_live_server(app, world):
    from openai import OpenAI

    store, carer, key, twin, _ = world
    server = LiveServer(app).start()
    try:
        client = OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0)
        clip = spoken_wav("Buenos días. Hoy vamos a dar un paseo por el parque.")
        result = client.audio.transcriptions.create(model="whisper-1",
                                                    file=("clip.wav", clip, "audio/wav"))
        assert {"buenos", "dias", "paseo", "parque"} <= set(medicines.fold(result.text).split())
        text = client.audio.transcriptions.create(model="whisper-1", language="es",
                                                  response_format="text",
                                                  file=("clip.wav", clip, "audio/wav"))
        assert isinstance(text, str) and "paseo" in text.lower()
        verbose = client.audio.transcriptions.create(model="whisper-1",
                                                     response_format="verbose_json",
                                                     file=("clip.wav", clip, "audio/wav"))
        assert verbose.language == "es" and verbose.segments

        speech = client.audio.speech.create(model="tts-1", voice="alloy",
                                            input="Es la hora de la furosemida.",
                                            response_format="wav")
        spoken = audio_mod.read_wav(speech.read())
        assert spoken.seconds > 1.0
        mp3 = client.audio.speech.create(model="tts-1", voice="espeak-en", input="Hello Carmen.")
        assert audio_mod.decode(mp3.read()).seconds > 0.5  # mp3, OpenAI's default format
        # the speech reads back as what was said
        back = client.audio.transcriptions.create(
            model="whisper-1", file=("s.wav", audio_mod.wav_bytes(spoken), "audio/wav"))
        assert "hora" in back.text.lower()
    finally:
        server.stop()


def test_audio_endpoints_need_a_key_and_name_bad_input(app, world):
    key = world[2]
    with TestClient(app) as c:
        r = c.post("/v1/audio/transcriptions", files={"file": ("a.wav", b"x", "audio/wav")})
        assert r.status_code == 401
        r = c.post("/v1/audio/speech", json={"model": "tts-1", "input": "hi", "voice": "alloy"})
        assert r.status_code == 401
        r = c.post("/v1/audio/transcriptions", headers=auth(key),
                   files={"file": ("notes.wav", b"RIFF....not really a wave file" * 10)},
                   data={"model": "whisper-1"})
        assert r.status_code == 400
        assert "'notes.wav' could not be read as audio" in r.json()["error"]["message"]
        r = c.post("/v1/audio/transcriptions", headers=auth(key), data={"model": "whisper-1"})
        assert r.status_code == 422 and "file" in r.json()["error"]["message"]
        r = c.post("/v1/audio/transcriptions", headers=auth(key),
                   files={"file": ("a.wav", b"x")}, data={"response_format": "docx"})
        assert r.status_code == 400 and "response_format" in r.json()["error"]["message"]
        r = c.post("/v1/audio/transcriptions", headers=auth(key),
                   files={"file": ("a.wav", b"x")}, data={"language": "fr"})
        assert r.status_code == 400 and "'en' or 'es'" in r.json()["error"]["message"]
        r = c.post("/v1/audio/speech", headers=auth(key),
                   json={"model": "tts-1", "input": "hola", "voice": "robot"})
        assert r.status_code == 400 and "unknown voice 'robot'" in r.json()["error"]["message"]
        r = c.post("/v1/audio/speech", headers=auth(key),
                   json={"model": "tts-1", "input": "hola", "voice": "alloy", "sped": 2})
        assert r.status_code == 422 and "sped" in r.json()["error"]["message"]
        r = c.post("/v1/audio/speech", headers=auth(key),
                   json={"model": "tts-1", "input": "hola", "voice": "alloy", "speed": 9})
        assert r.status_code == 422


def test_audio_limits_size_and_duration(app, world, transcriber):
    from liquidcare.serve.limits import UPLOAD_LIMITS

    key = world[2]
    with TestClient(app) as c:
        # bigger than the chat limit is fine for audio, bigger than the upload limit is not
        r = c.post("/v1/audio/transcriptions", headers=auth(key),
                   files={"file": ("big.wav", b"0" * (UPLOAD_LIMITS["/v1/audio/transcriptions"]
                                                      + 1))})
        assert r.status_code == 413
        app.state.transcriber = stt.Transcriber(transcriber.model_dir, max_seconds=1.0)
        long_clip = audio_mod.wav_bytes(synth.add_noise(
            audio_mod.Audio(__import__("numpy").zeros(48_000, "float32"), 16_000), 30))
        r = c.post("/v1/audio/transcriptions", headers=auth(key),
                   files={"file": ("long.wav", long_clip, "audio/wav")})
        assert r.status_code == 413 and "longer than the 1 s" in r.json()["error"]["message"]


def test_without_the_packages_the_answer_is_501_with_what_to_install(world, monkeypatch):
    from liquidcare.media import ocr

    monkeypatch.setattr(stt, "PART_PACKAGES", ("no_such_whisper_part_1",))
    monkeypatch.setattr(tts, "espeak_binary", lambda: None)
    monkeypatch.setattr(tts, "piper_available", lambda: False)
    monkeypatch.setattr(ocr, "tesseract_binary", lambda: None)
    engine = tiny_engine()
    app = create_app(engine, world[0], default_max_tokens=4)
    app.state.transcriber = stt.Transcriber()  # not the module's shared one
    key, twin = world[2], world[3]
    try:
        with TestClient(app) as c:
            r = c.post("/v1/audio/transcriptions", headers=auth(key),
                       files={"file": ("a.wav", b"x", "audio/wav")})
            assert r.status_code == 501
            assert "pip install 'liquidcare[media]'" in r.json()["error"]["message"]
            r = c.post("/v1/audio/speech", headers=auth(key),
                       json={"model": "tts-1", "input": "Hola", "voice": "alloy"})
            assert r.status_code == 501 and "espeak-ng" in r.json()["error"]["message"]
            r = c.post("/v1/chat/completions", headers=auth(key), json={
                "model": "x", "user": str(twin.id), "messages": [{"role": "user", "content": [
                    {"type": "image_url", "image_url": {"url": photo_url(tilt=0)}}]}]})
            assert r.status_code == 501 and "tesseract-ocr" in r.json()["error"]["message"]
    finally:
        engine.close()


# --- photos in chat ---------------------------------------------------------------------------
def photo_url(lines=("FUROSEMIDE", "40 mg", "30 tablets"), tilt=7.0, fmt="jpeg"):
    data = synth.render_box(synth.Box(list(lines)), tilt=tilt, blur=1.0, jpeg=70 if fmt ==
                            "jpeg" else None, width=1000)
    return f"data:image/{fmt};base64,{base64.b64encode(data).decode()}"


class RecordingGuard:
    """Allows everything; keeps what it was shown."""

    def __init__(self):
        self.seen = []

    def check_input(self, messages):
        from types import SimpleNamespace

        self.seen.append(messages[-1]["content"])
        return SimpleNamespace(allowed=True, category=None, reason="ok", safe_reply=None)

    def check_output(self, messages, reply, vetted=(), shown=()):
        from types import SimpleNamespace

        return SimpleNamespace(allowed=True, category=None, reason="ok", safe_reply=None)


def test_a_photo_of_a_box_reaches_the_model_guard_and_store_as_read_text(world):
    need("ocr")
    store, carer, key, twin, _ = world
    guard = RecordingGuard()
    engine = long_engine()
    app = create_app(engine, store, guard, default_max_tokens=4)
    try:
        with TestClient(app) as c:
            r = c.post("/v1/chat/completions", headers=auth(key), json={
                "model": "x", "user": str(twin.id), "messages": [{"role": "user", "content": [
                    {"type": "text", "text": "¿Qué es esto?"},
                    {"type": "image_url", "image_url": {"url": photo_url(), "detail": "auto"}},
                ]}]})
            assert r.status_code == 200, r.text
            conv = store.get_conversation(r.json()["conversation_id"], by=carer)
            stored = conv.messages[0].content
            assert stored.startswith("¿Qué es esto?\n\n[Foto: el texto de abajo se ha leído")
            assert "> FUROSEMIDE" in stored
            assert ("es furosemida 40 mg: está en la lista de Carmen (Furosemida 40 mg, a las "
                    "08:00)") in stored
            assert guard.seen == [stored]  # the guard checked the read text too

            # a photo alone (OpenAI's `file` part), of a medicine not on the list
            r = c.post("/v1/chat/completions", headers=auth(key), json={
                "model": "x", "user": str(twin.id), "messages": [{"role": "user", "content": [
                    {"type": "file", "file": {"file_data": photo_url(("OMEPRAZOL", "20 mg"),
                                                                     fmt="png"),
                                              "filename": "caja.png"}}]}]})
            assert r.status_code == 200, r.text
            conv = store.get_conversation(r.json()["conversation_id"], by=carer)
            assert "omeprazol 20 mg NO está en la lista de medicación de Carmen" in \
                conv.messages[0].content
    finally:
        engine.close()


def test_bad_photos_are_4xx_naming_the_part(app, world):
    store, carer, key, twin, other_key = world

    def send(parts, who=key, user=str(twin.id)):
        with TestClient(app) as c:
            return c.post("/v1/chat/completions", headers=auth(who), json={
                "model": "x", "user": user, "messages": [{"role": "user", "content": parts}]})

    r = send([{"type": "image_url", "image_url": {"url": "https://example.org/a.jpg"}}])
    assert r.status_code == 400 and "messages[0].content[0].image_url.url" in r.text
    assert "does not fetch images" in r.json()["error"]["message"]
    bad = "data:image/png;base64," + base64.b64encode(b"not a png at all").decode()
    r = send([{"type": "image_url", "image_url": {"url": bad}}])
    assert r.status_code == 400 and "not an image we can read" in r.json()["error"]["message"]
    r = send([{"type": "image_url", "image_url": {"url": photo_url(), "colour": "red"}}])
    assert r.status_code == 422 and "colour" in r.json()["error"]["message"]
    r = send([{"type": "input_audio", "input_audio": {}}])
    assert r.status_code == 422
    r = send([{"type": "file", "file": {"file_id": "file-123"}}])
    assert r.status_code == 400 and "file_data" in r.json()["error"]["message"]
    # another carer's twin: the photo is not read for a twin the caller may not see
    r = send([{"type": "image_url", "image_url": {"url": photo_url()}}], who=other_key)
    assert r.status_code in (403, 404)
    too_many = [{"type": "image_url", "image_url": {"url": photo_url(tilt=0)[:2000]}}] * 5
    r = send(too_many)
    assert r.status_code == 400 and "at most 4 photos" in r.json()["error"]["message"]
    assert httpx.codes.is_client_error(r.status_code)
