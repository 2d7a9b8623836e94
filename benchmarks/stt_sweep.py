"""Try speech-to-text settings on the DEV sentences only (benchmarks/data/speech_dev.json):
word error and real-time factor per setting, with where the time goes (features, encoder,
decoder). The benchmark's own sentences (multimodal.py) are never used here, so a setting is
chosen on these and then measured once there.

    python benchmarks/stt_sweep.py --try margin=none --try margin=3.0
    python benchmarks/stt_sweep.py --lang es --try "margin=3.0;beam_size=1"

A setting is `key=value` pairs joined by `;`: `margin` (seconds of padding kept after a short
clip, `none` for Whisper's full 30 s window), `cpu_threads`, `prompt_en` / `prompt_es` (an
initial prompt for that language's clips), `detect=true` (no language given: Whisper detects
it, as for a request without one), and any keyword of faster-whisper's
`WhisperModel.transcribe` (`beam_size`, `without_timestamps`, `temperature`, `patience`,
`hotwords`, `initial_prompt`, ...). Clips are made once (the benchmark's voices, clean and
15 dB noise, through the upload path) and shared by every setting.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

from multimodal import DEV_SENTENCES, VOICES

from liquidcare.media import audio as audio_mod
from liquidcare.media import stt, synth, tts, wer


def parse_setting(text: str) -> dict[str, Any]:
    """`a=1;b=true;c=none` -> {"a": 1, "b": True, "c": None}; a value JSON cannot read is a
    string (a prompt)."""
    out: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        key, sep, value = part.partition("=")
        if not sep:
            raise SystemExit(f"setting {part!r} is not key=value")
        key, value = key.strip(), value.strip()
        if value.lower() in ("none", "null"):
            out[key] = None
            continue
        try:
            out[key] = json.loads(value.lower() if value.lower() in ("true", "false") else value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def make_clips(snr: float, langs: tuple[str, ...]) -> list[dict]:
    sentences = json.loads(DEV_SENTENCES.read_text("utf-8"))
    speaker = tts.Speaker()
    clips = []
    for lang in langs:
        for label, voice, speed in VOICES[lang]:
            for k, sentence in enumerate(sentences[lang]):
                clean = audio_mod.decode(audio_mod.wav_bytes(
                    speaker.speak(sentence, voice, speed)), 16_000)
                for noisy in (False, True):
                    spoken = synth.add_noise(clean, snr, seed=k) if noisy else clean
                    clips.append({"lang": lang, "voice": label, "noisy": noisy,
                                  "text": sentence, "audio": spoken})
    return clips


def run_setting(setting: dict[str, Any], clips: list[dict], repeat: int) -> dict:
    setting = dict(setting)
    margin = setting.pop("margin", stt.WINDOW_MARGIN_S)
    threads = int(setting.pop("cpu_threads", 2))
    beam = int(setting.pop("beam_size", 5))
    prompts = {lang: setting.pop(f"prompt_{lang}", None) for lang in ("en", "es")}
    detect = bool(setting.pop("detect", False))  # no language given: Whisper detects it
    transcriber = stt.Transcriber(stt.prepare_whisper_base(), cpu_threads=threads,
                                  beam_size=beam, window_margin_s=margin, options=setting)
    model = transcriber.model()
    spent = {"encode": 0.0, "generate": 0.0}

    def timed(name: str, fn: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - start
        return wrapper

    model.encode = timed("encode", model.encode)
    model.model = _Timed(model.model, timed("generate", model.model.generate))
    transcriber.transcribe(clips[0]["audio"], language=clips[0]["lang"])  # first run: warm
    by: dict[str, dict[str, float]] = {}
    misses: list[str] = []
    heard: list[dict] = []  # every clip's transcript, for --dump
    for clip in clips:
        best = None
        for _ in range(repeat):
            for key in spent:
                spent[key] = 0.0
            result = transcriber.transcribe(clip["audio"],
                                            language=None if detect else clip["lang"],
                                            prompt=prompts[clip["lang"]])
            if best is None or result.seconds < best[0]:
                best = (result.seconds, dict(spent), result.text)
        seconds, parts, text = best
        err, said = wer.word_errors(clip["text"], text)
        key = f"{clip['lang']} {'noisy' if clip['noisy'] else 'clean'}"
        # by language, by noise, and by voice and noise: which kind of clip carries the error
        for k in (clip["lang"], key, f"{key} {clip['voice']}"):
            row = by.setdefault(k, {"err": 0, "words": 0, "audio": 0.0, "work": 0.0,
                                    "encode": 0.0, "generate": 0.0})
            row["err"] += err
            row["words"] += said
            row["audio"] += clip["audio"].seconds
            row["work"] += seconds
            row["encode"] += parts["encode"]
            row["generate"] += parts["generate"]
        if err:
            misses.append(f"{key} {clip['voice']}: {text.strip()!r}")
        heard.append({"lang": clip["lang"], "voice": clip["voice"], "noisy": clip["noisy"],
                     "text": clip["text"], "transcript": text, "seconds": seconds,
                     "detected": result.language,
                     "audio_s": clip["audio"].seconds})
    return {"rows": by, "misses": misses, "heard": heard}


class _Timed:
    """The CTranslate2 model with its `generate` timed (the object itself is read-only)."""

    def __init__(self, inner: Any, generate: Any) -> None:
        self._inner, self.generate = inner, generate

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--try", dest="settings", action="append", default=[],
                        help="a setting, key=value[;key=value...] (repeatable)")
    parser.add_argument("--lang", choices=["en", "es"], action="append",
                        help="only these languages' clips (repeatable)")
    parser.add_argument("--snr", type=float, default=15.0)
    parser.add_argument("--repeat", type=int, default=1, help="runs per clip; RTF: fastest")
    parser.add_argument("--misses", action="store_true", help="print every wrong transcript")
    parser.add_argument("--dump", help="write every clip's transcript, per setting, to this "
                        "JSON file (to study the errors without transcribing again)")
    args = parser.parse_args(argv)
    clips = make_clips(args.snr, tuple(args.lang or ("en", "es")))
    print(f"{len(clips)} dev clips; load {os.getloadavg()[0]:.2f} at the start", flush=True)
    dumped: dict[str, list[dict]] = {}
    for text in args.settings or ["margin=none"]:
        result = run_setting(parse_setting(text), clips, args.repeat)
        dumped[text] = result["heard"]
        print(f"\n## {text}   (load {os.getloadavg()[0]:.2f} at the end)")
        print(f"{'clips':32}  {'WER':>6}  {'RTF':>5}  {'enc s':>6}  {'dec s':>6}  words")
        for key, r in sorted(result["rows"].items()):
            print(f"{key:32}  {r['err'] / r['words']:6.1%}  {r['work'] / r['audio']:5.2f}  "
                  f"{r['encode']:6.2f}  {r['generate']:6.2f}  {r['words']}")
        if args.misses:
            for miss in result["misses"]:
                print("   ", miss)
        sys.stdout.flush()
    if args.dump:
        with open(args.dump, "w", encoding="utf-8") as f:
            json.dump(dumped, f, ensure_ascii=False, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
