"""Whisper's fitted window: a short clip is encoded at its own length plus a margin, not padded
to 30 s, and it still reads back; a clip of a whole window or more keeps Whisper's window."""

from __future__ import annotations

import pytest
from media_helpers import need

from liquidcare.media import audio as audio_mod
from liquidcare.media import medicines, stt, tts


def test_the_fitted_window_is_the_clip_and_its_margin_within_one_window():
    assert stt.fitted_frames(2.7, 3.0) == 570
    assert stt.fitted_frames(2.705, 3.0) == 572  # rounded up, and even for the convolution
    assert stt.fitted_frames(2.7, 3.0) % 2 == 0 and stt.fitted_frames(2.71, 3.0) % 2 == 0
    assert stt.fitted_frames(0.0, 0.0) == 100  # never an empty window
    assert stt.fitted_frames(28.0, 3.0) == stt.FULL_WINDOW  # no more than Whisper's window
    assert stt.fitted_frames(120.0, 3.0) == stt.FULL_WINDOW
    assert stt.fitted_frames(2.7, None) == stt.FULL_WINDOW  # None: Whisper's own padding


class Recorder:
    """The CTranslate2 model with the shape of every encoder input written down."""

    def __init__(self, inner):
        self.inner, self.shapes = inner, []

    def encode(self, features, **kwargs):
        self.shapes.append(tuple(features.shape))
        return self.inner.encode(features, **kwargs)

    def __getattr__(self, name):
        return getattr(self.inner, name)


@pytest.fixture(scope="module")
def whisper_dir(embedded_home):
    need("stt")
    return stt.prepare_whisper_base(embedded_home / "media" / "whisper-base")


@pytest.mark.parametrize("margin", [stt.WINDOW_MARGIN_S, None])
def test_a_short_clip_is_encoded_at_its_fitted_length_and_read_back(whisper_dir, margin):
    need("espeak")
    spoken = tts.Speaker().speak("Good morning. Today we will go for a walk.", "espeak-en")
    clip = audio_mod.decode(audio_mod.wav_bytes(spoken), 16_000)
    transcriber = stt.Transcriber(whisper_dir, window_margin_s=margin)
    model = transcriber.model()
    recorder = Recorder(model.model)
    model.model = recorder
    try:
        result = transcriber.transcribe(clip, language="en")
    finally:
        model.model = recorder.inner
    assert {"good", "morning", "walk"} <= set(medicines.fold(result.text).split())
    frames = stt.fitted_frames(clip.seconds, margin)
    assert recorder.shapes and all(s == (1, 80, frames) for s in recorder.shapes)
    assert (frames < stt.FULL_WINDOW) == (margin is not None)
    # the segments still carry the clip's times (subtitles are cut from them)
    assert 0.0 <= result.segments[0].start < result.segments[-1].end <= clip.seconds + 0.5


class FakeWhisper:
    """Stands in for faster-whisper's model: records what `transcribe` is asked for."""

    window_frames = stt.FULL_WINDOW

    def __init__(self, ratios=(1.2,), text=" hola"):
        self.calls = []
        self.ratios = list(ratios)  # the compression ratio of each call's segment, in turn
        self.text = text

    def detect_language(self, samples):
        # Latin first: what Whisper base made of several Spanish dev clips left to detect
        self.calls.append({"detect": True})
        return "la", 0.55, [("la", 0.55), ("es", 0.30), ("it", 0.1), ("en", 0.05)]

    def transcribe(self, samples, **kwargs):
        import types

        self.calls.append(kwargs)
        ratio = self.ratios.pop(0) if len(self.ratios) > 1 else self.ratios[0]
        seg = types.SimpleNamespace(start=0.0, end=1.0, text=self.text,
                                    compression_ratio=ratio)
        return iter([seg]), types.SimpleNamespace(language=kwargs.get("language") or "es")


def test_decoding_is_greedy_in_temperature_with_the_language_given_and_options_on_top():
    import numpy as np

    clip = audio_mod.Audio(np.zeros(16_000, dtype=np.float32), 16_000)
    transcriber = stt.Transcriber(model_dir="/nonexistent")
    transcriber._model = fake = FakeWhisper()
    assert transcriber.transcribe(clip, language="es-ES").text == "hola"
    call = fake.calls[-1]
    # no fallback to sampling (it changed no word on the dev clips and cost decoder time),
    # the page's language passed on, no conditioning on earlier text
    assert call["temperature"] == stt.TEMPERATURE == 0.0
    assert call["language"] == "es" and call["beam_size"] == 5
    assert call["condition_on_previous_text"] is False and call["vad_filter"] is False
    assert fake.window_frames == stt.fitted_frames(1.0, stt.WINDOW_MARGIN_S)
    # a benchmark's options still win over the defaults
    tried = stt.Transcriber(model_dir="/nonexistent", options={"temperature": [0.0, 0.2]})
    tried._model = fake
    tried.transcribe(clip, language="en")
    assert fake.calls[-1]["temperature"] == [0.0, 0.2]


def test_a_greedy_decode_that_repeats_itself_is_decoded_again_with_the_fallback():
    import numpy as np

    clip = audio_mod.Audio(np.zeros(16_000, dtype=np.float32), 16_000)
    transcriber = stt.Transcriber(model_dir="/nonexistent")
    transcriber._model = fake = FakeWhisper(ratios=(3.1, 1.3))  # a loop, then a clean decode
    assert transcriber.transcribe(clip, language="es").text == "hola"
    assert [c["temperature"] for c in fake.calls] == [0.0, stt.FALLBACK_TEMPERATURES]
    transcriber._model = calm = FakeWhisper(ratios=(2.0,))  # under Whisper's 2.4: one decode
    transcriber.transcribe(clip, language="es")
    assert [c["temperature"] for c in calm.calls] == [0.0]


def test_spanish_non_words_are_respelled_and_english_and_expected_names_are_not(monkeypatch):
    import numpy as np

    from liquidcare.media import respell

    # a tiny frequency table in place of wordfreq's (the respelling itself: test_media_respell)
    monkeypatch.setattr(respell, "available", lambda: True)
    monkeypatch.setitem(respell._FREQ, "es", {"pasa": 5.0, "autobús": 4.6})
    monkeypatch.setitem(respell._FREQ, "en", {"pasa": 5.0, "autobús": 4.6})
    clip = audio_mod.Audio(np.zeros(16_000, dtype=np.float32), 16_000)
    transcriber = stt.Transcriber(model_dir="/nonexistent")
    transcriber._model = FakeWhisper(text=" ¿Pasa el autolús?")
    heard = transcriber.transcribe(clip, language="es")
    assert heard.text == "¿Pasa el autobús?" and heard.segments[0].text == " ¿Pasa el autobús?"
    # a word the prompt names is kept as heard; English transcripts are left alone
    assert transcriber.transcribe(clip, language="es", prompt="Autolús").text == "¿Pasa el autolús?"
    assert transcriber.transcribe(clip, language="en").text == "¿Pasa el autolús?"
    plain = stt.Transcriber(model_dir="/nonexistent", respell_languages=())
    plain._model = transcriber._model
    assert plain.transcribe(clip, language="es").text == "¿Pasa el autolús?"


def test_a_clip_without_a_language_is_taken_for_english_or_spanish_only():
    import numpy as np

    clip = audio_mod.Audio(np.zeros(16_000, dtype=np.float32), 16_000)
    transcriber = stt.Transcriber(model_dir="/nonexistent")
    transcriber._model = fake = FakeWhisper()
    assert transcriber.transcribe(clip).language == "es"
    assert fake.calls[0] == {"detect": True} and fake.calls[1]["language"] == "es"
    # a language given is not detected again
    transcriber.transcribe(clip, language="en")
    assert fake.calls[-1]["language"] == "en" and {"detect": True} not in fake.calls[2:]
