# ruff: noqa: E501  (the regular expressions stay whole, one alternative group a line)
"""The learned emergency classifier's framing cues, and the alarm-word test that lets it speak
below its threshold for speaking alone (see `emergency.EmergencyAssessor.classifier_alarm`).

Kept apart from the lexicon's reading (`emergency.py`) and the frames (`frames.py`): these
patterns are features and switches for the classifier, not rules that raise an alarm.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

from liquidcare.text import fold

from .encoder import sample_text
from .frames import ABOUT, FRAMED, IDIOMS, LIVE_AFTER, PAST, past_match
from .gate import Gated
from .spelling import respell

WINDOW = 3  # recent user turns read together

# Acuity cues: what turns a symptom into "now, and bad".
_ACUITY = Gated(re.compile(
    r"\b(sudden(ly)?|all of a sudden|now|just|won.?t (stop|go|shift)|getting worse|worse and worse"
    r"|for (the last )?(\d+|ten|twenty|thirty|forty|half an hour|an hour|hours)|really bad(ly)?|very|"
    r"can.?t|keeps?|de (repente|golpe)|ahora|no (para|se (le )?(pasa|quita))|cada vez (mas|peor)|"
    r"desde hace|muy|mucho|no puede|lleva)\b"))
# Words of the body and of harm: they point the embedding sample of a long message at the
# right pieces, and let the classifier raise the alarm below its threshold for speaking alone.
_CUE = Gated(re.compile(
    r"\b(pain|chest|breath\w*|blood|bleed\w*|fell|fall|floor|head|fit|seizure|swell\w*|unconscious"
    r"|wake|respond\w*|sugar|insulin|confus\w*|drowsy|pills|tablets|overdose|die|kill|end|dementia"
    r"|missing|dolor|pecho|respir\w*|sangr\w*|caid\w*|cayo|suelo|cabeza|convuls\w*|hinch\w*|despiert"
    r"\w*|responde|azucar|pastillas|morir|matar|demencia|desaparec\w*"
    r"|heart|arm|face|lips?|tongue|throat|skin|eyes?|pupils?|mouth|speech|words|sick|vomit\w*|"
    r"fever|temperature|shiver\w*|shak\w*|jerk\w*|wheez\w*|chok\w*|faint\w*|collaps\w*|"
    r"slump\w*|sweat\w*|clammy|grey|blue|rash|hives|drows\w*|asleep|lost|wander\w*|dead|death|"
    r"suicid\w*|goodbye|bridge|sea|river|rope|jump\w*|overdos\w*|corazon|brazo|cara|labios?|"
    r"lengua|garganta|piel|ojos?|pupilas?|boca|habla|palabras|fiebre|tirit\w*|tembl\w*|"
    r"sacudidas|pitan?|atragant\w*|desmay\w*|desplom\w*|sudor\w*|sudand\w*|gris|azul\w*|"
    r"ronchas|adormilad\w*|dormid[oa]|perdid[oa]|muert[oa]|muerte|despedida|puente|mar|rio|"
    r"cuerda|tirarme|sobredosis|legs?|piernas?|smile|sonrisa|memory|memoria|olvid\w*|alzheimer\w*|"
    r"bleach|lejia|poison\w*|veneno|pellets|nose\w*|nariz|sting|stung|picadura|wasp|bee|avispa|abeja|"
    r"diabet\w*|insulin\w*|infection|infeccion|pulse|pulso|hip|cadera|gibberish|stairs|escaleras?)\b"))
# A mild, calm or denied symptom: cues for the classifier.
_MILD = Gated(re.compile(
    r"\b(slight(ly)?|a (bit|little)|mild(ly)?|minor|small|tiny|un poco|algo de|liger[oa]|"
    r"leve|pequen[oa]|poquito)\b"))
_CALM = Gated(re.compile(
    r"\b(fine|okay|ok|no harm|nobody (got )?hurt|not hurt|on (its|their) own|went away|gone now|"
    r"settled|normal(ly)?|as usual|(same )?as always|bien|nadie se hizo|no paso nada|se (le )?"
    r"(quito|paso)|como siempre|sin problema|funny|gracia|loves?|le encanta|(didn.?t|did not) (hurt|"
    r"injure) (himself|herself|themselves|myself)|(just|only) a (bruise|graze|scratch)|no se hizo (nada|"
    r"dano)|solo un (moraton|rasguno|aranazo)|back to normal|came round straight away|se recupero|"
    r"woken up( now)?|(ya )?se ha despertado|(enseguida|rapido|pronto) volvio en si|volvio en si (enseguida|al momento|rapido)|came round|(for|just) a (second|"
    r"moment)|a few seconds|un (segundo|momento)|unos segundos|(much|mucho) (better|mejor))\b"))
_DENIED = Gated(re.compile(
    r"\b(no (fever|temperature|pain|rash)|not (swollen|sore|hurt|bleeding)|isn.?t (swollen|sore|"
    r"bleeding)|no tiene (fiebre|dolor)|sin (fiebre|dolor)|no esta hinchad[oa])\b"))
# The cues are scaled so that the L2 penalty does not drown them beside the 1,024 embedding
# dimensions (3 did better than 1 on the dev set).
CUE_WEIGHT = 3.0


@lru_cache(maxsize=256)
def read(text: str) -> str:
    """What the lexicon and the cues read: the text folded, with common misspellings of the
    words they look for respelled (`spelling.respell`: "se a desmayao", "unconcious")."""
    return respell(fold(text))


def cues(users: list[str]) -> np.ndarray:
    """The classifier's framing cues, scaled by `CUE_WEIGHT`. They read what the encoder reads:
    the message, or the sample of a long one (the same text on every training message, which
    are short). Not the lexicon's verdict itself: the classifier is meant to be a second,
    independent opinion (trained beside a lexicon that finds every training emergency, it
    would learn to copy it). Only the framing cues, which carry no symptom words: asking
    about, a past event, an idiom, acuity, and a mild, calm or denied symptom (an embedding
    hears "a slight headache" close to "a headache")."""
    folded = read(" ".join(sample_text(users[-1], _CUE)))
    flags = [bool(c.search(folded)) for c in (ABOUT, PAST, IDIOMS, _ACUITY, _MILD, _CALM, _DENIED)]
    return CUE_WEIGHT * np.array(flags, dtype=np.float32)


def alarm_words(users: list[str]) -> bool:
    """Whether the recent user turns hold a word of the body or of harm (`_CUE`), and the
    latest message does not tell it as calm or settled (`_CALM`, `PAST`): "dad slipped but
    caught the rail, he's fine" and "se quedó floja un segundo y enseguida volvió en sí" name a
    fall and a faint, and only the classifier's own threshold should raise the alarm on them."""
    if not _CUE.search(IDIOMS.sub(" ", read(" ".join(users[-WINDOW:])))):
        return False
    last = read(users[-1])
    # A loose frame (a hypothesis, a plan read out, a dated event) with no time-or-return cue
    # after it is told at one remove as well.
    framed = FRAMED.search(last) and not LIVE_AFTER.search(last)
    # Calm or settled only if it stays so: "she seemed ok at first but she's been sick twice
    # now" and "came round but didn't know us, and now she's shaking again" turn after the
    # calm word; "no está bien" is not calm.
    settled = [m for m in (_CALM.search(last), past_match(last)) if m and not (
        _TURN.search(last, m.end()) or LIVE_AFTER.search(last, m.end())
        or _NEGATED.search(last[max(0, m.start() - 12):m.start()]))]
    return not (settled or framed)


_TURN = re.compile(r"\b(but|pero|now|ahora)\b")
_NEGATED = re.compile(r"\b(no|not|isn.?t|wasn.?t|aren.?t|nada|ni|nunca|never)\b[\w\s]{0,10}$")
_SELF_HARM = Gated(re.compile(
    r"\b(die|dying|kill|end (it|my life)|suicid\w*|wake up|better off|morir|matar\w*|suicid\w*|"
    r"acabar con|despertar|mejor sin mi|quitarme la vida)\b"))
