# ruff: noqa: E501  (the regular expressions stay whole)
"""The emergency lexicon's reading of a message clause by clause (`frame_clauses`): is a
symptom told as happening, or asked about, or settled? Kept apart from `emergency.py` so that
the costly part of a long message has one place, and its shortcuts sit beside the reading
they must not change.

On a long message the reading is cheap because only the clauses that a lexicon match of the
whole message reaches are read at all (a clause holds a match only where a match of the whole
text lies, and without a match a clause adds neither "live" nor "about"), each rule is tried
only on the clauses where one of its first words starts, and the reading stops at the first
live clause (nothing after it can turn the verdict back).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable
from itertools import accumulate

from .frames import ABOUT, FRAMED, LIVE_AFTER, PAST, QOPEN, live_now
from .policy import Rule
from .told import HANDLED, SETTLED, STUCK, persists_only, reported_past, settled_around

_SENTENCE = re.compile(r"[^.!?;\n]+[.!?;\n]*")
_CLAUSE = re.compile(r",|\b(?:but|although|pero|aunque)\b")
# A clause that opens as a question: asked about, not told.
_QWORD = re.compile(
    r"(what|how|when|where|which|why|who|should|can|could|is|are|was|do|does|did|will|would|"
    r"any|que|como|cuando|donde|cual|cuales|cuanto|cuanta|cuantos|por que|quien|debo|debe|"
    r"deberia|se puede|puedo|puede|es|hay|tiene que|en que|if|in case|suppose|imagine|say|si|"
    r"por si|en caso de|supongamos|imagina)\b")
_NOW_AFTER = re.compile(r"\b(now|since then|this (morning|evening|afternoon)|tonight|ahora|desde "
                        r"entonces|esta (manana|tarde|noche)|since (lunch|breakfast|dinner|tea|teatime|supper)"
                        r"|desde (la comida|el desayuno|la cena|la merienda))\b")
# People in general, and someone in particular (see `frame_clauses`).
_GENERIC = re.compile(
    r"\b(someone|somebody|a person|people|anyone|an? (older|elderly) (person|man|woman)|older "
    r"people|the elderly|a child|alguien|una persona|la gente|las personas|personas mayores|"
    r"un nino|una nina|cualquiera|after (a|an)|despues de (un|una)|tras (un|una))\b")
_SPECIFIC = re.compile(
    r"\b(my|our|mum|mom|dad|husband|wife|son|daughter|grandma|grandad|grandpa|he|she|he.?s|"
    r"she.?s|mi|mis|nuestr[oa]|mama|papa|marido|mujer|hijo|hija|abuel[oa])\b")

_PERSIST = frozenset({"still", "todavia", "sigue"})  # a deficit that persists is not a return
_IF_OPEN = re.compile(r"(if|when|whenever|in case|si|cuando|en caso de que|por si)\b")

Hits = Callable[..., list[Rule]]  # EmergencyAssessor._hits


def _past(text: str) -> bool:
    """A past, settled event in `text`: `PAST`, or `SETTLED` (its wording beyond the cue)."""
    return bool(PAST.search(text) or SETTLED.search(text))


def _settled_clause(clause: str, symptom_in: Callable[[str], bool]) -> bool:
    """A past, settled event in the clause, unless a time-or-return word after it comes before
    a symptom (`symptom_in`: a lexicon match): "he had a stroke two years ago and now his face
    has dropped" is live; "had a stroke last year and still can't grip" (a deficit that
    persists), "... and now he takes five tablets" and "since then she's been well" are not."""
    m = PAST.search(clause) or SETTLED.search(clause)
    if m is None:
        return False
    for live in (*LIVE_AFTER.finditer(clause, m.end()), *_NOW_AFTER.finditer(clause, m.end())):
        if live.group(0) not in _PERSIST and symptom_in(clause[live.start():]):
            return False
    return True


def _reaches(starts: list[int] | None, lo: int, hi: int) -> bool:
    """Whether one of `starts` (sorted; None: anywhere) lies in [lo, hi)."""
    if starts is None:
        return True
    i = bisect_left(starts, lo)
    return i < len(starts) and starts[i] < hi


def crossing(spans: list[tuple[int, int]]) -> Callable[[int, int], bool]:
    """`crossed(lo, hi)`: whether one of `spans` (start, end) overlaps [lo, hi), as
    `any(x < hi and y > lo for x, y in spans)` says, by bisection rather than a loop over
    every span for each of a long message's hundred sentences: of the spans starting before
    `hi`, the furthest end."""
    spans = sorted(spans)
    span_starts = [x for x, _ in spans]
    reach_to = list(accumulate((y for _, y in spans), max))

    def crossed(lo: int, hi: int) -> bool:
        i = bisect_left(span_starts, hi)
        return i > 0 and reach_to[i - 1] > lo

    return crossed


def _past_sentence(memo: dict[int, bool], offset: int, sentence: str, text: str) -> bool:
    """`PAST` in the sentence at `offset` of `text`, read once per sentence rather than once
    per clause of it (PAST is an alternation of dozens of phrases: ~0.1 ms a sentence), and
    tried where the whole text's word index has its first words (no index of the sentence)."""
    found = memo.get(offset)
    if found is None:
        found = memo[offset] = bool(PAST.search_within(sentence, text, offset))
    return found


def frame_clauses(text: str, rules: list[Rule], hits: Hits) -> str | None:
    """"live" when a symptom is told as happening (a statement), "about" when every
    symptom sits in a general question or in a settled, past event; None when no single
    clause holds a match. Only `rules`, those that matched the whole text, are tried on
    its clauses: a long message has a hundred clauses, and the other rules cannot match
    a piece of a text they do not match. `hits(clause, rules=..., within=...)`: the rules
    that match a clause (`EmergencyAssessor._hits`)."""
    about = False
    crossed = crossing([(m.start(), m.end()) for rule in rules for symptoms in (False, True)
                        for m in rule.finditer(text, symptoms)])

    # Where each rule's first words start in the whole text, read once rather than once per
    # clause (`Rule.reaches` on every clause was a tenth of a long message's cost).
    starts = [(rule, rule.starts(text)) for rule in rules]
    now_told: bool | None = None  # live_now(text): one reading of the message, when first needed
    past_at: dict[int, bool] = {}  # PAST in a sentence, by its offset (`_past_sentence`)
    for sm in _SENTENCE.finditer(text):
        sentence, offset = sm.group(0), sm.start()
        # A sentence no match reaches has no clause that can hit (the test below, per
        # clause): skipped whole, a long message's hundred sentences cost nothing.
        if not crossed(offset, sm.end()):
            continue
        # Carers often type a question without its mark: a sentence that opens with an
        # interrogative is asked too, unless the message says something is happening now.
        question = sentence.rstrip().endswith("?") or sentence.lstrip().startswith("¿")
        if not question and QOPEN.match(sentence):
            if now_told is None:
                now_told = live_now(text)
            question = not now_told
        cuts = [(c.start(), c.end()) for c in _CLAUSE.finditer(sentence)]
        bounds = zip([0] + [e for _, e in cuts], [b for b, _ in cuts] + [len(sentence)],
                     strict=True)
        contrast = 0  # where the clause after the latest "but" / "pero" starts
        # where each clause's stretch up to the next "but" / "pero" ends: an outcome told
        # after the symptom ("..., they ran tests and it was indigestion") frames it too
        ends = [c for c, e in cuts if sentence[c:e] != ","] + [len(sentence)]
        for i, (a, b) in enumerate(bounds):
            clause = sentence[a:b]
            if i and sentence[cuts[i - 1][0]:cuts[i - 1][1]] != ",":
                contrast = a
            # Only a clause that a match of the whole text reaches can hit by itself.
            if not crossed(offset + a, offset + b):
                continue
            # Clauses and sentences are cut at word boundaries, so a rule can match a
            # clause only where one of its first words starts in it (the gate's index of
            # the whole text): on a long message most rules are not tried at all.
            reach = [r for r, at in starts if _reaches(at, offset + a, offset + b)]
            if not clause.strip() or not reach or not hits(
                    clause, rules=reach, within=(text, offset + a)):
                continue
            # A past event settles its sentence, except a clause that says what is
            # happening now ("he had his operation last week, now he's shivering").
            stuck = STUCK.search(sentence)
            settled = (_settled_clause(clause, lambda rest, r=reach: bool(hits(rest, rules=r)))
                       and not stuck) or (
                _past_sentence(past_at, offset, sentence, text) and not _NOW_AFTER.search(clause)
                and not LIVE_AFTER.search(clause) and not stuck)
            # A looser frame (a hypothesis, a plan read out, a dated event) in this clause or
            # an earlier one of the sentence holds only when nothing live follows.
            stretch = sentence[contrast:next(e for e in ends if e >= b)]
            if not settled and FRAMED.search(stretch):
                settled = not LIVE_AFTER.search(text, offset + a)
            # A professional's expectation ("the physio says it will take months") holds a
            # deficit that is "still" there; another time or return word makes it live.
            if not settled and HANDLED.search(stretch):
                settled = persists_only(text, offset + a)
            # An outcome told in a later sentence ("He was fine afterwards.") or a frame in the
            # sentences before settles a symptom told in the past, when nothing from there on is
            # told as now or present.
            if not settled:
                settled = settled_around(text, offset + a, sm.end(), offset) or reported_past(
                    text, offset, sm.end())
            opening = clause.strip(" ¿¡\"'")
            # Asked, not told: a clause opening as a question or a hypothesis, or a
            # question about people in general ("can a UTI turn into sepsis in an older
            # person?"), not about someone here.
            general = _GENERIC.search(opening) and not _SPECIFIC.search(opening)
            # A condition about people in general is a hypothesis even without its question
            # mark ("if someone's face droops on one side is that always a stroke").
            asks = (question and (_QWORD.match(opening) or general)) or (
                general and _IF_OPEN.match(opening))
            if asks or ABOUT.search(clause) or settled:
                about = True
            else:
                # One live clause makes the message live whatever the others say (the
                # reading only ever adds "about" or "live"): the rest is not read.
                return "live"
    return "about" if about else None
