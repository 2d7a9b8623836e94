"""Masking personal data in every text that leaves the store for training.

Two layers, both applied to each prompt and completion text of a training row:

1. **The twin's own field values** (name and its parts, carers, emergency contact, conditions,
   medicines and doses, routines, preferences, notes, age) and the account name of whoever held
   the conversation: the store knows exactly who the text is about, so these are replaced
   wherever they appear, whatever the wording around them.
2. **Microsoft Presidio** (`presidio-analyzer` + `presidio-anonymizer`) for what the store cannot
   know in advance: e-mail addresses, phone numbers (GB, ES and other European regions),
   Spanish DNI/NIF and NIE, NHS and National Insurance numbers, UK postcodes, IBANs, card
   numbers and dates. Presidio's name and address detection needs a spaCy NER model, which
   would have to be downloaded; we run it offline with a blank spaCy tokenizer instead and add
   pattern recognizers of our own (English and Spanish) for dates written in words, street
   addresses and names introduced by a title or by "my name is" / "me llamo".

Masks are Presidio's own placeholders (``<PERSON>``, ``<PHONE_NUMBER>``, ...), so a model trained
on the rows learns the shape of a conversation, not who was in it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Any

from .errors import StoreError
from .twin import Twin

LANGUAGES = ("en", "es")
# Presidio scores below this are guesses (a bare 6-digit number as a US licence, ...).
MIN_SCORE = 0.35
PHONE_REGIONS = ("GB", "ES", "IE", "FR", "DE", "PT", "IT", "US")

_MONTHS = {
    "en": "January|February|March|April|May|June|July|August|September|October|November|December"
          "|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec",
    "es": "enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre"
          "|noviembre|diciembre",
}
_CAP = r"\p{Lu}[\p{Ll}'’-]+"  # a capitalised word (the `regex` module Presidio uses)
_NAME = rf"{_CAP}(?:\s+(?:de\s+|del\s+|la\s+)?{_CAP}){{0,2}}"

# Numbers `phonenumbers` rejects as unassigned (the UK's 07700 900xxx drama range, say) are still
# someone's number to a masker: an international prefix or 9+ digits in groups.
_PHONE = r"(?<![\w+])(?:\+\d{2,3}[\s.-]?)?(?:\(?\d{2,5}\)?[\s.-]?){2,4}\d{2,4}(?!\w)"

# (entity, name, regex, score) per language; matched case-sensitively, cues case-insensitively
_PATTERNS: dict[str, list[tuple[str, str, str, float]]] = {
    "en": [
        ("PHONE_NUMBER", "grouped digits", _PHONE, 0.4),
        ("DATE_TIME", "date in words",
         rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{_MONTHS['en']})\.?,?\s+\d{{4}}\b", 0.6),
        ("DATE_TIME", "month first",
         rf"\b(?:{_MONTHS['en']})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}\b", 0.6),
        ("LOCATION", "street address",
         r"\b\d{1,4}[A-Za-z]?,?\s+(?:\p{Lu}[\p{Ll}'-]+\s+){1,3}(?:Street|St|Road|Rd|Avenue|Ave"
         r"|Lane|Ln|Close|Drive|Dr|Way|Court|Ct|Crescent|Place|Pl|Square|Sq|Gardens|Terrace"
         r"|Grove|Hill|Row|Walk|Mews)\b\.?", 0.6),
        ("PERSON", "title and name",
         rf"(?<=\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Nurse|Sister|Auntie|Uncle)\.?\s+){_NAME}", 0.6),
        ("PERSON", "introduced name",
         rf"(?<=\b(?i:my name is|my name's|i am called|i'm called|call me|this is)\s+){_NAME}",
         0.5),
    ],
    "es": [
        ("PHONE_NUMBER", "cifras agrupadas", _PHONE, 0.4),
        ("DATE_TIME", "fecha en palabras",
         rf"(?i:\b\d{{1,2}}\s+de\s+(?:{_MONTHS['es']})(?:\s+de(?:l)?\s+\d{{4}})?\b)", 0.6),
        ("LOCATION", "dirección",
         r"(?i:\b(?:calle|c/|avenida|avda\.?|av\.|plaza|pza\.?|paseo|camino|carretera|ronda"
         r"|travesía|glorieta|urbanización|urb\.))\s+(?:(?i:de|del|la|las|los|el)\s+){0,2}"
         r"\p{Lu}[\p{L}'-]+(?:\s+(?:(?i:de|del|la|las|los|el)\s+)?\p{Lu}[\p{L}'-]+){0,3}"
         r"(?:,?\s*(?i:n[º°o]\.?|número)?\s*\d{1,4}(?:\s*,?\s*\d{1,2}º?\s*[A-Za-z]?)?)?", 0.6),
        ("LOCATION", "código postal", r"(?<=\b(?i:cp|c\.p\.|código postal)\s*)\d{5}\b", 0.6),
        ("PERSON", "tratamiento y nombre",
         rf"(?<=\b(?:Sr|Sra|Srta|Dr|Dra|Don|Doña|D\.|Dña\.)\.?\s+){_NAME}", 0.6),
        ("PERSON", "nombre presentado",
         rf"(?<=\b(?i:me llamo|mi nombre es|soy)\s+){_NAME}", 0.5),
    ],
}

_LOCK = threading.Lock()
_ENGINES: dict[str, Any] = {}


def _offline_tldextract() -> None:
    """Presidio's e-mail check asks tldextract for the public-suffix list, which it would
    download on first use: point it at the snapshot bundled with tldextract instead."""
    import tldextract.tldextract as tx

    tx.TLD_EXTRACTOR = tx.TLDExtract(suffix_list_urls=(), cache_dir=None)


def _blank_nlp_engine() -> Any:
    """A Presidio NLP engine made of spaCy's blank tokenizers: tokens for the context words of
    the pattern recognizers, no NER (which needs a model download)."""
    import spacy
    from presidio_analyzer.nlp_engine import NlpArtifacts, NlpEngine

    class BlankSpacy(NlpEngine):
        def __init__(self) -> None:
            self.nlp = {lang: spacy.blank(lang) for lang in LANGUAGES}

        def load(self) -> None:
            pass

        def is_loaded(self) -> bool:
            return True

        def process_text(self, text: str, language: str) -> NlpArtifacts:
            doc = self.nlp[language](text)
            return NlpArtifacts(entities=[], tokens=doc, tokens_indices=[t.idx for t in doc],
                                lemmas=[t.lower_ for t in doc], nlp_engine=self,
                                language=language)

        def process_batch(self, texts: Iterable[str], language: str, batch_size: int = 1,
                          n_process: int = 1, **kwargs: Any) -> Iterable[tuple[str, Any]]:
            for text in texts:
                yield text, self.process_text(text, language)

        def is_stopword(self, word: str, language: str) -> bool:
            return False

        def is_punct(self, word: str, language: str) -> bool:
            return False

        def get_supported_entities(self) -> list[str]:
            return []

        def get_supported_languages(self) -> list[str]:
            return list(LANGUAGES)

    return BlankSpacy()


def _engines() -> tuple[Any, Any]:
    """(analyzer, anonymizer), built once per process (loading takes a few seconds)."""
    with _LOCK:
        if not _ENGINES:
            try:
                import presidio_analyzer  # noqa: F401
                import presidio_anonymizer  # noqa: F401
            except ImportError as err:
                # Never export unmasked text because a library is missing.
                raise StoreError(
                    f"personal-data masking needs Presidio ({err.name} is not installed): "
                    "pip install presidio-analyzer 'presidio-anonymizer<2.2.366'"
                ) from None
            import regex
            from presidio_analyzer import AnalyzerEngine, Pattern, PatternRecognizer
            from presidio_analyzer import RecognizerRegistry as Registry
            from presidio_analyzer.predefined_recognizers import (
                CreditCardRecognizer,
                DateRecognizer,
                EmailRecognizer,
                EsNieRecognizer,
                EsNifRecognizer,
                IbanRecognizer,
                NhsRecognizer,
                PhoneRecognizer,
                UkNinoRecognizer,
                UkPostcodeRecognizer,
            )
            from presidio_anonymizer import AnonymizerEngine

            _offline_tldextract()
            registry = Registry(supported_languages=list(LANGUAGES))
            for lang in LANGUAGES:
                for make in (EmailRecognizer, DateRecognizer, IbanRecognizer,
                             CreditCardRecognizer, EsNifRecognizer, EsNieRecognizer,
                             NhsRecognizer, UkNinoRecognizer, UkPostcodeRecognizer):
                    registry.add_recognizer(make(supported_language=lang))
                registry.add_recognizer(PhoneRecognizer(supported_language=lang,
                                                        supported_regions=PHONE_REGIONS))
                for entity, name, pattern, score in _PATTERNS[lang]:
                    registry.add_recognizer(PatternRecognizer(
                        supported_entity=entity, supported_language=lang,
                        name=f"liquidcare {name} ({lang})",
                        patterns=[Pattern(name=name, regex=pattern, score=score)],
                        global_regex_flags=regex.MULTILINE | regex.V1))
            _ENGINES["analyzer"] = AnalyzerEngine(
                nlp_engine=_blank_nlp_engine(), registry=registry,
                supported_languages=list(LANGUAGES))
            _ENGINES["anonymizer"] = AnonymizerEngine()
    return _ENGINES["analyzer"], _ENGINES["anonymizer"]


def _values(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _values(v)
    elif isinstance(value, list):
        for v in value:
            yield from _values(v)


def twin_terms(twin: Twin | None, names: Iterable[str] = ()) -> list[tuple[str, str]]:
    """(text, placeholder) for every value the twin holds, and for the given account names;
    names are also split into their words (a reply says "Carmen", not "Carmen Ruiz")."""
    terms: dict[str, str] = {}

    def add(text: str, tag: str) -> None:
        text = text.strip()
        if len(text) >= 2 and text.lower() not in terms:
            terms[text.lower()] = tag

    def add_name(text: str) -> None:
        add(text, "<PERSON>")
        for word in re.split(r"[\s,]+", text):
            if len(word) >= 3 and word.lower() not in {"del", "las", "los", "the"}:
                add(word, "<PERSON>")

    for name in names:
        add_name(name)
    if twin is not None:
        add_name(twin.name)
        for contact in [*twin.carers, *([twin.emergency_contact] if twin.emergency_contact
                                        else [])]:
            add_name(contact.get("name", ""))
            for key, tag in (("phone", "<PHONE_NUMBER>"), ("email", "<EMAIL_ADDRESS>"),
                             ("relation", "<RELATION>")):
                if contact.get(key):
                    add(contact[key], tag)
        for med in twin.medications:
            add(med.get("name", ""), "<MEDICATION>")
            for key in ("dose", "notes"):
                if med.get(key):
                    add(med[key], "<MEDICATION>")
            for time in med.get("schedule", []):
                add(time, "<TIME>")
        for key, tag in (("conditions", "<CONDITION>"), ("routines", "<ROUTINE>"),
                         ("preferences", "<PREFERENCE>")):
            for text in _values(getattr(twin, key)):
                add(text, tag)
        if twin.notes:
            add(twin.notes, "<NOTE>")
            for sentence in re.split(r"(?<=[.!?;])\s+", twin.notes):
                add(sentence, "<NOTE>")
        if twin.age is not None:
            add(str(twin.age), "<AGE>")
    # longest first, so "Carmen Ruiz" is masked whole before "Carmen"
    return sorted(((t, tag) for t, tag in terms.items()), key=lambda x: -len(x[0]))


def _mask_terms(text: str, terms: list[tuple[str, str]]) -> str:
    for term, tag in terms:
        # whole words only where the term starts/ends with a word character
        left = r"(?<!\w)" if term[0].isalnum() else ""
        right = r"(?!\w)" if term[-1].isalnum() else ""
        text = re.sub(left + re.escape(term) + right, tag, text, flags=re.IGNORECASE)
    return text


class Masker:
    """Masks one conversation's texts: `Masker(twin, names, lang)(text) -> masked text`."""

    def __init__(self, twin: Twin | None = None, names: Iterable[str] = (),
                 language: str | None = None) -> None:
        self.terms = twin_terms(twin, names)
        lang = language or (twin.language if twin is not None else "en")
        self.languages = [lang] + [x for x in LANGUAGES if x != lang]

    def __call__(self, text: str) -> str:
        text = _mask_terms(text, self.terms)
        analyzer, anonymizer = _engines()
        # Both languages' recognizers: a Spanish speaker may give an English phone number.
        found = []
        for lang in self.languages:
            found += [r for r in analyzer.analyze(text=text, language=lang)
                      if r.score >= MIN_SCORE]
        if not found:
            return text
        return anonymizer.anonymize(text=text, analyzer_results=found).text


def mask(text: str, twin: Twin | None = None, names: Iterable[str] = ()) -> str:
    """One text masked (see `Masker` to mask many of one conversation)."""
    return Masker(twin, names)(text)
