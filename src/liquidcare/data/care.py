"""The bundled bilingual care corpus (written by this project; see corpus/DATASHEET.md).

It ships inside the package, so the offline default (SmolLM2 + care corpus) needs no network.
The split is fixed in the files themselves: regenerating them (`python -m
liquidcare.data.corpus.build_corpus`) gives the same bytes, so runs stay comparable. Validation
and test are composed from a held-out part of the content bank and share no word 8-gram with
train (see corpus/holdout.py): tune on validation, report on test.
"""

from __future__ import annotations

import json
from importlib import resources

from liquidcare.data.errors import CorpusFormatError
from liquidcare.data.records import KINDS, LANGS, Document, check_care_record

CORPUS_PACKAGE = "liquidcare.data.corpus"
SPLIT_FILES = {"train": "care_train.jsonl", "validation": "care_validation.jsonl",
               "test": "care_test.jsonl"}
SPLITS = tuple(SPLIT_FILES)


def _choice(name: str, value: str | None, allowed: tuple[str, ...]) -> None:
    if value is not None and value not in allowed:
        raise ValueError(f"{name}={value!r}: expected one of {allowed} or None")


def load_care_corpus(split: str = "train", lang: str | None = None,
                     kind: str | None = None) -> list[Document]:
    """Records of the bundled care corpus, in file order, every one checked.

    split: "train", "validation" or "test". lang: None (both), "en" or "es". kind: None (both),
    "dialogue" (records with `messages`) or "note" (records with `text`).
    """
    _choice("split", split, SPLITS)
    _choice("lang", lang, LANGS)
    _choice("kind", kind, KINDS)
    name = SPLIT_FILES[split]
    source = f"{CORPUS_PACKAGE}/{name}"
    content = resources.files(CORPUS_PACKAGE).joinpath(name).read_text(encoding="utf-8")
    records: list[Document] = []
    seen: set[str] = set()
    for number, line in enumerate(content.splitlines(), start=1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise CorpusFormatError(f"{source}:{number}: bad JSON ({err.msg})") from None
        check_care_record(record, source, number)
        if record["id"] in seen:
            raise CorpusFormatError(f"{source}:{number}: field 'id': duplicate {record['id']!r}")
        seen.add(record["id"])
        if (lang is None or record["lang"] == lang) and (kind is None or record["kind"] == kind):
            records.append(record)
    return records


GENERAL_DEV_FILE = "general_dev.jsonl"


def load_general_dev(lang: str | None = None) -> list[Document]:
    """The out-of-domain dev set: general English and Spanish prose written for this project
    (canals, bread, trains, libraries...; no care), to measure what a model trained on care text
    keeps of its general ability. An evaluation set only: there is no train split."""
    _choice("lang", lang, LANGS)
    source = f"{CORPUS_PACKAGE}/{GENERAL_DEV_FILE}"
    content = resources.files(CORPUS_PACKAGE).joinpath(GENERAL_DEV_FILE).read_text(
        encoding="utf-8")
    records = []
    for number, line in enumerate(content.splitlines(), start=1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise CorpusFormatError(f"{source}:{number}: bad JSON ({err.msg})") from None
        if record.get("lang") not in LANGS or not str(record.get("text", "")).strip():
            raise CorpusFormatError(f"{source}:{number}: expected 'lang' in {LANGS} and 'text'")
        if lang is None or record["lang"] == lang:
            records.append(record)
    return records


# The system turn for care conversations that bring none (training dialogues without a twin,
# the distillation samples): who the assistant is and the safety rules of the corpus.
CARE_SYSTEM_PROMPT: dict[str, str] = {
    "en": "You are a care assistant for older and disabled people living at home and for the "
    "people who look after them. Answer warmly and plainly. Never change or stop a prescribed "
    "medicine: send those questions to the doctor or pharmacist. If there is any sign of danger "
    "(chest pain, signs of a stroke, a fall with a head injury, thoughts of suicide) say clearly "
    "to call 999 now and to tell someone nearby.",
    "es": "Eres un asistente de cuidados para personas mayores y con discapacidad que viven en "
    "casa y para quienes las cuidan. Responde con calidez y con palabras sencillas. Nunca cambies "
    "ni suspendas un medicamento recetado: esas preguntas, al médico o al farmacéutico. Si hay "
    "cualquier señal de peligro (dolor en el pecho, signos de ictus, una caída con golpe en la "
    "cabeza, ideas de suicidio), di claramente que llamen al 112 ahora y avisen a alguien cerca.",
}
