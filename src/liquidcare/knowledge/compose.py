"""Turning retrieved passages (and the twin's facts) into a reply, or into a prompt for one.

Two ways, measured against each other on benchmarks/data/replies_dev.jsonl (docs/knowledge.md):

* ``extractive``: the reply *is* the vetted text. The twin's relevant facts come first, then the
  best passage (whole when it fits), then the sentences of the next passages that bear most on
  the question and say something new (no word 4-gram already in the reply), up to about 200
  words. A 135M model paraphrases care advice badly (it drops
  the "not" from "do not crush"); quoting the passage keeps every word a person checked, in the
  asker's language, and cannot loop.
* ``generative``: the passages and facts go into the system prompt as numbered notes and the model
  writes the reply; `fix_emergency_numbers` then corrects any number the model borrowed from
  American text.

When no passage is relevant, `no_answer` says so and names who to ask, with the emergency numbers
of the asker's locale (from the safety policy: 999 / NHS 111 in the UK, 112 / centro de salud in
Spain). This module only formats: numbers and passages are handed in, so it imports no policy.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from liquidcare.data.ngrams import ngram_set, ngrams

from .retrieval import Encoder, Hit
from .text import fold, sentences, terms

# About 80 seconds to read. Session 16, on the tuning questions (replies_dev, dev2, dev_long and
# dev3's even half): 165 -> 200 words covered 2-6 more points of key points in every set and
# language; 240 covered 0-8 more again, at a fifth more to read (docs/knowledge.md).
MAX_WORDS = 200

_NO_ANSWER = {
    "en": ("I don't have checked information about that, so I won't guess. Please ask {who}. "
           "If it is urgent, call {urgent}; in an emergency, call {number}."),
    "es": ("No tengo información revisada sobre eso, así que no voy a adivinar. Consulte con "
           "{who}. Si es urgente, llame a {urgent}; en una emergencia, llame al {number}."),
}
# who to ask when the knowledge base has nothing: the professional the question points to
_WHO = {
    "en": [(("medic", "pill", "tablet", "dose", "drug", "prescri", "side effect"),
            "the pharmacist or the GP"),
           (("sad", "depress", "lonely", "suicid", "anxious", "worr"),
            "the GP, or talk to Samaritans on 116 123 at any hour"),
           (("carer", "respite", "benefit", "allowance", "money", "council"),
            "the local council's adult social care team or Carers UK"),
           ((), "the GP, the district nurse or the care team")],
    "es": [(("medic", "pastill", "comprimid", "dosis", "farmac", "receta", "efecto"),
            "el farmacéutico o el médico de familia"),
           (("triste", "deprim", "sol", "suicid", "ansied", "preocup"),
            "el médico de familia, o llame a la Línea 024 a cualquier hora"),
           (("cuidador", "respiro", "ayuda", "dependencia", "prestacion", "servicios sociales"),
            "los servicios sociales de su ayuntamiento"),
           ((), "su médico de familia o la enfermera de su centro de salud")],
}
_NOTES_HEADER = {
    "en": ("Answer the carer's question in English, in short simple sentences, using only the "
           "checked notes below. Do not add medical advice that is not in the notes. "
           "For emergencies in the UK the number is {number}; for urgent advice, {urgent}."),
    "es": ("Responde a la pregunta en español, con frases cortas y sencillas, usando solo las "
           "notas revisadas de abajo. No añadas consejos médicos que no estén en las notas. "
           "En España el número de emergencias es el {number}; para consultas urgentes, "
           "{urgent}."),
}
_ABOUT = {"en": "About {name}:", "es": "Sobre {name}:"}
_NOTES = {"en": "Checked notes:", "es": "Notas revisadas:"}


def _pick(question: str, lang: str, text: str, budget: int, encoder: Encoder | None,
          ) -> list[str]:
    """The sentences of `text` that best answer `question`, in their own order, within
    `budget` words: the whole passage when it fits (it was written as one answer)."""
    parts = sentences(text)
    if sum(len(s.split()) for s in parts) <= budget:
        return parts
    q_terms = set(terms(question, lang))
    overlap = [len(q_terms & set(terms(s, lang))) for s in parts]
    if encoder is not None:
        vectors = encoder.encode([question, *parts])
        cosine = (vectors[1:] @ vectors[0]).tolist()
    else:
        cosine = [0.0] * len(parts)
    # the opening sentence usually states the rule; keep it ahead of the rest
    rank = sorted(range(len(parts)),
                  key=lambda i: (i != 0, -(cosine[i] + 0.1 * overlap[i]), i))
    chosen, used = set(), 0
    for i in rank:
        n = len(parts[i].split())
        if used + n <= budget:
            chosen.add(i)
            used += n
    return [parts[i] for i in sorted(chosen)]


def _new(picked: Iterable[str], said: set[tuple[str, ...]]) -> list[str]:
    """The sentences of a later passage that repeat no word 4-gram of the reply so far.

    Why: passages of one topic share phrases ("lunch clubs, day centres and community groups",
    "la infección de orina"), and at 200 words the reply quoted one phrase three times in 7 of
    the tuning questions' replies (session 17): that reads as a loop, and the words are better
    spent on a point not yet made. Chosen on the tuning sets against allowing a 4-gram twice:
    both ended those loops with the same key points (docs/knowledge.md, "Session 17")."""
    kept = []
    for sentence in picked:
        grams = ngrams(sentence, 4)
        if grams & said:
            continue
        kept.append(sentence)
        said |= grams
    return kept


def extractive_reply(question: str, lang: str, hits: Sequence[Hit], facts: Sequence[str] = (),
                     encoder: Encoder | None = None, max_words: int = MAX_WORDS) -> str:
    """The reply built from the passages' own sentences (see the module docstring)."""
    lines = list(facts)
    budget = max_words - sum(len(f.split()) for f in lines)
    body: list[str] = []
    said = ngram_set(lines, 4)
    for n, hit in enumerate(hits):
        if budget < 12:  # not room for one more useful sentence
            break
        picked = _pick(question, lang, hit.passage.text, budget, encoder)
        fresh = [s for s in picked if fold(s) not in {fold(b) for b in body}]
        if n == 0:  # the best passage was written as one answer: it stays whole
            said |= ngram_set(fresh, 4)
        else:
            fresh = _new(fresh, said)
        if n > 0 and not fresh:
            continue
        body.extend(fresh)
        budget -= sum(len(s.split()) for s in fresh)
    text = " ".join(body)
    return "\n\n".join([" ".join(lines), text] if lines else [text]).strip()


def no_answer(question: str, lang: str, numbers: dict[str, str]) -> str:
    """What to say when the knowledge base has nothing on the question."""
    q = fold(question)
    who = next(w for words, w in _WHO[lang] if not words or any(s in q for s in words))
    return _NO_ANSWER[lang].format(who=who, urgent=numbers.get("urgent", ""),
                                   number=numbers.get("number", ""))


def notes_prompt(lang: str, hits: Sequence[Hit], facts: Sequence[str], twin_name: str,
                 numbers: dict[str, str]) -> str:
    """The system-prompt block that hands the passages and facts to the model."""
    parts = [_NOTES_HEADER[lang].format(**{k: numbers.get(k, "") for k in ("number", "urgent")})]
    if facts:
        parts.append(_ABOUT[lang].format(name=twin_name) + " " + " ".join(facts))
    if hits:
        parts.append(_NOTES[lang])
        parts.extend(f"[{i}] {h.passage.title}: {h.passage.text}" for i, h in enumerate(hits, 1))
    return "\n".join(parts)


_WRONG_NUMBERS = re.compile(r"\b(?:911|9-1-1)\b")


def fix_emergency_numbers(text: str, numbers: dict[str, str]) -> str:
    """Replace the American emergency number (which reaches nobody in the UK or Spain) with the
    locale's own."""
    number = numbers.get("number")
    return _WRONG_NUMBERS.sub(number, text) if number else text
