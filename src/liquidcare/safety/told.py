# ruff: noqa: E501  (the regular expressions stay whole, one alternative group a line)
"""Frames read across sentences, beside `frames.py`: an event told at one remove — settled by
an outcome told later, expected by a professional who has seen it, passed on from someone
else's account — and the figures of speech cut before the lexicon beyond `IDIOMS`.

Kept out of `frames.PAST` and `frames.IDIOMS` on purpose: the classifier reads those two as
cues, with the wording it was fitted on, so widening them would change its inputs.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable

from . import wordindex
from .frames import (
    _IF,
    _LIVE_WORD,
    _PERSIST,
    FRAMED,
    IDIOMS,
    LIVE_AFTER,
    NOW,
    PAST,
    _recovery_before,
)
from .gate import GATED_FROM, Gated, _starts, finditer

# More figures of speech, cut with `IDIOMS` before the lexicon (`cut_idioms`) but kept out of
# the classifier's idiom cue, which was fitted on `IDIOMS` alone. A colour or a breath lost to
# talking or laughing, not to illness.
FIGURES = Gated(re.compile(
    r"\b(till|until|til) (i|you|we|he|she|they)( ?.?m| ?.?re| ?.?s| am| are| is)? blue in the face\b"
    r"|\b(go|goes|going|went|turns?|turned|gets?|got) (bright )?(red|blue|purple) in the face (from |with )?"
    r"(arguing|shouting|yelling|telling|talking|explaining|nagging|ranting|laughing|singing|laughter)\b"
    r"|\b(laugh\w*|giggl\w*|in stitches)\b[^.?!;]{0,40}\b(could|can|couldn.?t|can.?t)( hardly| barely| not)? "
    r"(breathe|catch (his|her|my|our|their) breath)\b"
    r"|\b(couldn.?t|could not|can.?t|hardly|barely) (breathe|catch (his|her|my|our|their) breath) (for|from|with) "
    r"(laughing|laughter|giggling)\b|\b(casi )?(no )?(podia|podiamos|pudo|puede|podian) (ni )?respirar de (la )?risa\b"
    # a face that falls at news, not on one side: disappointment
    r"|\b(face|jaw) (fell|dropped|falls|drops) (when|as) (i|we|he|she|they|you) (told|said|saw|heard|read|opened|got|"
    r"mentioned|found out)\b|\b(face|jaw) (fell|dropped) at the (price|bill|cost|news|idea|thought)\b"))


def cut_idioms(text: str, repl: str | Callable[[re.Match[str]], str] = " ") -> str:
    """`text` with the figures of speech (`IDIOMS`, `FIGURES`) replaced by `repl` (a string or
    a function of the match, as `re.sub`). Both are found in `text` itself, in one pass, so the
    gate's word index of it serves both; a `FIGURES` match that overlaps an idiom is left to
    the idiom."""
    found = list(finditer(IDIOMS.pattern_object, IDIOMS.anchor, text, GATED_FROM))
    more = list(finditer(FIGURES.pattern_object, FIGURES.anchor, text, GATED_FROM))
    if not more:
        return IDIOMS.sub(repl, text)
    taken = [(m.start(), m.end()) for m in found]
    found += [m for m in more if not any(a < m.end() and m.start() < b for a, b in taken)]
    # Through `wordindex.apply`: the cut text's word index is derived from this one's (a
    # long message's differs in a few words), not built again.
    return wordindex.apply(text, [(m.start(), m.end(), repl(m) if callable(repl) else repl)
                                  for m in sorted(found, key=lambda m: m.start())])


# Settled beyond the wording of `PAST` (which the classifier reads as a cue, so it keeps the
# wording it was fitted on): a time of life long gone, someone found afterwards, an outcome.
SETTLED = Gated(re.compile(
    r"\bwhen (i|we|he|she|they) (was|were) (a |an )?(child|kid|little|small|young|younger|baby|teenager|"
    r"boy|girl|at school|in (my|his|her|their|our) (teens|twenties|thirties|forties))\b|\bas a (child|kid|"
    r"boy|girl|teenager)\b|\bcuando (yo )?(era|eramos|eran) (pequen[oa]s?|nin[oa]s?|joven|jovenes|chic[oa]s?)\b"
    r"|\bde (pequen[oa]|nin[oa]|joven)\b|\ben su juventud\b|\b(\d+|a few|few|two|three|several|some) "
    r"(winters|summers|springs|autumns|christmases|easters) ago\b|\bhace (\w+ )(inviernos|veranos|navidades)\b"
    r"|\b(before|until|till) (anyone|someone|somebody|they|we|the police|a neighbour|the neighbours|staff) "
    r"found (him|her|them)\b|\bhasta que (la|lo|le|los|las) (encontraron|encontramos|encontre|encontro)\b"
    r"|\b(is|are|he.?s|she.?s|they.?re) (doing|getting on) (well|fine|ok|okay)\b|\b(esta|va) mejorando\b"
    r"|\b(since|desde) (the|his|her|el|la|su) (\w+ ){0,2}(in |of |de |del |en )?(19|20)\d\d\b"
    r"|\b(since|desde) (the|his|her|el|la|su) (stroke|fall|operation|op|heart attack|fit|seizure|accident|surgery|"
    r"ictus|caida|operacion|infarto|accidente|crisis) (in|last|back in|two|three|a few|de|del|en|hace)\b"
    r"|\bno (harm|damage) done\b|\bsin (dano|consecuencias)\b|\b(vuelve|vuelven|volvio|volvieron) a su color\b"
    r"|\b(colou?r|pink) (comes|came|has come) back\b|\b(go|goes|went) back to (its|their|her|his) (normal |usual )?colou?r\b"
    r"|\b(\d+|a few|few|two|three|four|five|several|some|many) (years|months|weeks) back\b"
    r"|\b(these days|nowadays|hoy en dia)\b"
    r"|\by va bien\b|\band doing (well|fine|ok|okay)\b|\bnever (happened|came back) again\b|\bno (le )?(ha vuelto|volvio) a pasar\b"
    r"|\b(walk.?in( centre)?|clinic|consultant|specialist|pharmacist|minor injuries|urgent care|111)\b"
    r"[^.?!;]{0,40}\b(checked|treated|examined|looked at|saw|stitched|glued|scanned|x.?rayed|reviewed|sorted)\b"
    r"|\b(a&e|hospital|paramedics?|doctors?|gp|nurse)\b[^.?!;]{0,40}\b(stitched|glued|scanned|x.?rayed|"
    r"reviewed|sorted)\b"
    # a treatment changed by a professional after it: the event has been seen and dealt with
    r"|\b(nurse|doctor|gp|consultant|specialist|team|pharmacist)\b[^.?!;]{0,30}\b(changed|adjusted|lowered|"
    r"reduced|increased|stopped|swapped) (his|her|their|the) (insulin|dose|doses|tablets|pills|medication|medicines|"
    r"inhaler)\b|\b(enfermer[oa]|medic[oa]|doctora?|especialista|farmaceutic[oa])\b[^.?!;]{0,30}\b(le )?(cambio|"
    r"ajusto|bajo|subio|quito|retiro) (la|el|las|los) (insulina|dosis|pastillas|medicacion|inhalador)\b"))
# A symptom a professional has seen and expects: "the physio says it will take months", "el
# neurólogo dijo que es normal que tarde". Told so, a deficit that is "still" there persists
# after a settled event: only a time-or-return word other than "still" makes it live.
HANDLED = Gated(re.compile(
    r"\b(physio\w*|consultant|doctors?|gp|nurses?|neurologist|specialist|therapist|surgeon|stroke team|"
    r"hospital|paramedics?)\b[^.?!;]{0,30}\b(says?|said|told (us|me|him|her)|thinks|expects?|warned( us)?)\b"
    r"[^.?!;]{0,40}\b(take (months|weeks|time|a while)|takes? time|for (a while|some time|months|weeks)|"
    r"to be expected|(is|was|be) expected|(is|was|it.?s|would be|will be) normal|will (improve|get better))\b"
    r"|\b(fisio\w*|neurolog[oa]|medic[oa]|doctora?|enfermer[oa]|especialista|logopeda|hospital)\b[^.?!;]{0,30}"
    r"\b(dice|dijo|nos dijo|ha dicho|comento|avisaron|cree)\b[^.?!;]{0,40}\b(tardara|tardar|llevara|es normal|"
    r"sera normal|es de esperar|era de esperar|durante (un tiempo|meses|semanas)|mejorara|ira mejorando|"
    r"puede tardar)\b"))
# Stuck or not breathing now: a past time in the sentence dates the start of it ("me resbalé
# hace mucho, no me puedo levantar"), it does not settle it.
STUCK = re.compile(r"\b(can.?t|cannot|unable to) (get (up|her up|him up)|breathe|move)\b|\bno (me|se|le|la|lo) "
                   r"(puedo|puede|podemos) (levantar|parar|mover)\b|\bno (respira|responde|reacciona)\b")

def _in(pattern: Gated, text: str, lo: int, hi: int) -> re.Match[str] | None:
    """The first match of `pattern` in `text` that starts in [lo, hi). On a long text it is
    tried only where one of its first words starts in that stretch (the gate's word index of
    the text, shared by every frame), so a search that finds nothing nearby costs nothing
    further on. The frames read across sentences look only that far: a few sentences around
    a symptom, not the whole of a long message."""
    if pattern.anchor is None or len(text) < GATED_FROM:
        m = pattern.pattern_object.search(text, lo)
        return m if m is not None and m.start() < hi else None
    starts = _starts(pattern.anchor, text)
    for i in range(bisect_left(starts, lo), bisect_left(starts, hi)):
        if m := pattern.pattern_object.match(text, starts[i]):
            return m
    return None


def _all_in(pattern: Gated, text: str, lo: int, hi: int) -> list[re.Match[str]]:
    """Every match of `pattern` starting in [lo, hi), one after the other (as `_in`)."""
    found: list[re.Match[str]] = []
    while (m := _in(pattern, text, lo, hi)) is not None:
        found.append(m)
        lo = max(m.end(), m.start() + 1)
    return found


def persists_only(text: str, pos: int) -> bool:
    """Whether nothing from `pos` on is told as happening now or coming back, save a state
    that persists ("still", "todavía", "sigue"): `NOW` or another `LIVE_AFTER` word."""
    hi = min(len(text), pos + _REACH)
    return not _in(NOW, text, pos, hi) and all(
        m.group(0) in _PERSIST for m in _all_in(LIVE_AFTER, text, pos, hi))


def settled_around(text: str, start: int, end: int, sentence: int) -> bool:
    """Whether the symptom told in `text[start:end]` (folded; the clause on to the end of its
    sentence, which starts at `sentence`) is settled by the sentences around it: an outcome in
    a later sentence (`PAST`, `SETTLED`: "He was fine afterwards.", "That was years ago."), or
    a past or loose frame in the two sentences before ("At the funeral someone asked..."), when
    it is told in the past — no present verb, and before a frame no "this morning" or "an hour
    ago" either — and from the frame or the symptom to the end of the message nothing is told
    as now, back or ongoing (`NOW`, `LIVE_AFTER`, `_LIVE_WORD` outside a condition). "Mum
    collapsed. She's breathing fine but won't wake up" stays live."""
    told = _STANDING.sub(lambda m: " " * len(m.group(0)), text[start:end])
    if _PRESENT_TOLD.search(told):
        return False
    hi = min(len(text), end + _REACH)
    if _in(PAST, text, end, hi) or _in(SETTLED, text, end, hi):
        origin = start
    elif _NOW_TOLD.search(told):
        return False
    else:  # a frame in the sentences just before
        lo = max(0, sentence - _REACH)
        found = [m.start() for p in (PAST, SETTLED, FRAMED) if (m := _in(p, text, lo, sentence))]
        if not found:
            return False
        origin = min(found)
    if _in(NOW, text, origin, hi) or _in(LIVE_AFTER, text, origin, hi):
        return False
    for m in _all_in(_LIVE_WORD, text, origin, hi):
        clause = max(text.rfind(c, 0, m.start()) for c in ".,;:!?\n") + 1
        if not (_IF.search(text, max(clause, origin), m.start())
                or (m.group(0) in ("now", "ahora") and _recovery_before(text, clause, m.start()))):
            return False
    return True


_REACH = 400  # characters around a symptom's sentence in which a frame or a live word counts


# Someone else's account passed on: "a friend told me...", "mi vecina me contó que...".
_REPORTED = Gated(re.compile(
    r"\b(friend|neighbou?r|colleague|cousin|workmate|aunt|uncle|sister|brother|someone|somebody|a lady|a man|"
    r"a woman|amig[oa]|vecin[oa]|compañer[oa]|companer[oa]|prim[oa]|tia|tio|herman[oa]|alguien|una senora|un senor)"
    r"\b[^.?!;]{0,25}\b(told|tells|was telling|said|mentioned) (me|us)\b|\b(me|nos) (dijo|conto|contaba|comento) que\b"))
# A present telling, stricter than `frames._PRESENT` ("mum's face" is not "mum is").
_PRESENT_TOLD = re.compile(
    r"\b(is|are|am|has|have|isn.?t|aren.?t|hasn.?t|haven.?t|can.?t|cannot|won.?t|keeps?|(he|she|it|they)( ?.?s| ?.?re)|"
    r"just|tiene|esta|estan|ha|han|acaba de|no (puede|respira|responde|para))\b")
# ... or told as recent: a passed-on account of this morning may be happening still.
_NOW_TOLD = re.compile(_PRESENT_TOLD.pattern + r"|\b(today|tonight|this (morning|afternoon|evening)|(\w+|\d+) "
                       r"minutes ago|an hour ago|hoy|esta (manana|tarde|noche)|hace (un rato|\w+ minutos))\b")


def reported_past(text: str, start: int, end: int) -> bool:
    """Whether `text[start:end]` (folded; a symptom's sentence) passes on someone else's
    account (`_REPORTED`) of something over and done: from the report on, nothing is told in
    the present or as recent ("my sister told me dad has collapsed" stays live)."""
    report = _in(_REPORTED, text, start, end)
    if report is None:
        return False
    after, hi = report.end(), min(len(text), end + _REACH)
    if _NOW_TOLD.search(text, after, end) or _in(NOW, text, start, hi) \
            or _in(LIVE_AFTER, text, start, hi):
        return False
    # About someone of the teller's, not of ours ("her mum"), or dated or settled: "my
    # sister rang and told me dad's face dropped" may be happening as we read.
    told = text[after:end]
    return bool((_OTHERS.search(told) and not _OURS.search(told))
                or any(_in(p, text, after, hi) for p in (PAST, SETTLED, FRAMED)))


_OTHERS = re.compile(r"\b(her|his|their|su|sus) (mum|mom|mother|dad|father|husband|wife|son|daughter|gran\w*|nan|"
                     r"partner|brother|sister|friend|boss|colleague|neighbou?r|madre|padre|marido|mujer|hij[oa]|"
                     r"abuel[oa]|pareja|mama|papa|herman[oa]|amig[oa]|jef[ea]|vecin[oa])\b")
_OURS = re.compile(r"\b(my|our|mi|mis|nuestr[oa]s?)\b")


# A standing condition in a relative clause ("Mum, who has Alzheimer's, ..."): not a present
# telling of the event.
_STANDING = re.compile(r"\b(who|que) (has|have|had|is|tiene|tenia|es|esta)\b")

