# ruff: noqa: E501  (the regular expressions stay whole, one alternative group a line)
"""Is this a live emergency, a question about one, or neither? Recall comes first.

Two opinions, combined so that either can raise the alarm:

1. **The symptom lexicon** (the policy's `red_flags`): one entry per condition for which NHS
   999 / Spanish 112 guidance says "call now", in the words carers use for what they see,
   read on folded text with common misspellings respelled (`spelling.py`: "se a desmayao",
   "unconcious", "q" for "que"). The frames below live in `frames.py`. Idioms that hold symptom words ("my feet are killing me", "me muero de ganas") are cut out
   first. A match is *about* rather than live when the latest message asks about signs or what
   to do ("what are the signs of…", "¿qué hago si…?") or tells of a past, settled event
   ("had a stroke two years ago", "se dio un golpe ayer pero está bien"), unless it also says
   it is happening now. Matches may run across the recent user turns into the latest one
   ("Mum had a fall" / "she's been on the carpet for five hours").
2. **A learned classifier** (scikit-learn logistic regression, three classes: emergency,
   about, none) over the multilingual sentence embedding of the latest message and of the
   recent user turns, plus the lexicon's own signals. It hears what the lexicon has no words
   for; its weights (`emergency_weights.json`) are trained by `python -m
   liquidcare.safety.train_emergency` on `data/emergency_train.jsonl`, and its two alarm
   thresholds are set low, on the dev sets (`emergency_dev.jsonl` and the even half of
   `emergency_dev2.jsonl`), for recall.

The result never blocks a reply: a live emergency puts the number in front of it, a question
about one adds the number after the information.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from liquidcare.text import fold

from .clauses import _CLAUSE, _NOW_AFTER, _SENTENCE, frame_clauses  # noqa: F401 (_CLAUSE, _SENTENCE: tests)
from .encoder import sample_text
from .frames import (
    ABOUT,
    FRAMED,
    IDIOMS,
    LIVE_AFTER,
    NOW,
    PAST,
    at_one_remove,
    past_match,
    told_apart,
    told_present,
)
from .gate import Gated
from .policy import Rule
from .spelling import respell
from .token_reader import TOKEN_WEIGHTS, TokenReader, asks_reader, reader_texts, shared_token_reader
from .told import SETTLED, STUCK, cut_idioms

WEIGHTS = Path(__file__).with_name("emergency_weights.json")
# The classifier refitted beside the token reader, its thresholds chosen on their mean (the
# policy's `emergency_model.reader: tokens`).
TOKENS_WEIGHTS = Path(__file__).with_name("emergency_weights_tokens.json")
CLASSES = ("emergency", "about", "none")
WINDOW = 3  # recent user turns read together


@dataclass
class Assessment:
    """`state`: "live", "about" or None. `kinds`: the conditions named by the lexicon (or
    "unspecified" when only the classifier spoke). `crisis`: the crisis line applies."""

    state: str | None
    kinds: list[str] = field(default_factory=list)
    crisis: bool = False
    reason: str = ""
    probability: float | None = None  # the classifier's p(emergency), when it ran

    @property
    def live(self) -> bool:
        return self.state == "live"


class EmergencyAssessor:
    """The lexicon from the policy's red flags, and the classifier when its weights and the
    encoder are available."""

    def __init__(self, red_flags: list[Rule], encoder: object | None = None,
                 weights_path: Path = WEIGHTS, use_classifier: bool = True,
                 token_weights: Path = TOKEN_WEIGHTS, use_tokens: bool = True) -> None:
        self.rules = red_flags
        self.encoder = encoder
        self.model: dict | None = None
        # The token reader (`token_reader.py`), asked beside the logistic regression where
        # its p(emergency) reaches `token_gate`; only with weights whose thresholds were
        # chosen on that mean (they carry `token_gate`).
        self.tokens: TokenReader | None = None
        if use_classifier and encoder is not None and weights_path.exists():
            data = json.loads(weights_path.read_text(encoding="utf-8"))
            self.model = {"coef": np.asarray(data["coef"], dtype=np.float32),
                          "intercept": np.asarray(data["intercept"], dtype=np.float32),
                          "classes": list(data["classes"]),
                          "threshold": float(data["threshold"]),
                          "threshold_alone": float(data.get("threshold_alone",
                                                            data["threshold"])),
                          "threshold_veto": float(data.get("threshold_veto", 0.0)),
                          "threshold_veto_present": float(data.get("threshold_veto_present",
                                                                   0.0))}
            if use_tokens and "token_gate" in data:
                self.tokens = shared_token_reader(token_weights)
                self.model["token_gate"] = float(data["token_gate"])

    # ---------------------------------------------------------------- the lexicon
    def _hits(self, text: str, start: int = 0, rules: list[Rule] | None = None,
              within: tuple[str, int] | None = None) -> list[Rule]:
        """Rules (of `rules`, default all) matching `text` with a match ending after `start`
        (so that in a window of turns the latest turn takes part). `within`: `text` is the
        clause of (whole message, offset) cut at word boundaries; only patterns whose first
        words start in it are tried."""
        acute: list[bool] = []  # read once, and only when a rule's symptoms need it

        def is_acute() -> bool:
            if not acute:
                # a clause: tried where the whole message's index has an acuity word in it
                acute.append(bool(_ACUITY.search_within(text, *within, start) if within
                                  else _ACUITY.search(text, start)))
            return acute[0]

        def hit(rule: Rule, symptoms: bool = False) -> bool:
            if within is not None:
                whole, at = within
                return rule.search_within(text, whole, at, at + len(text), symptoms) is not None
            if start == 0:
                return rule.search(text, symptoms) is not None
            return any(m.end() > start for p in rule.candidates(text, symptoms)
                       for m in p.finditer(text))

        return [rule for rule in (self.rules if rules is None else rules)
                if hit(rule) or (rule.symptoms and is_acute() and hit(rule, symptoms=True))]

    def lexicon(self, users: list[str]) -> tuple[str | None, list[Rule]]:
        last = cut_idioms(read(users[-1]))
        hits = self._hits(last)
        if not hits and len(users) > 1:
            earlier = [cut_idioms(read(t)) for t in users[-WINDOW:-1]]
            joined = " ".join(earlier) + " "
            hits = self._hits(joined + last, start=len(joined))
        if not hits:
            return None, []
        now = NOW.search(last)
        # "what to do if someone collapses and no respira" is about a person in general, not
        # someone here: a now-word inside such a hypothesis is not a live cue.
        if now and not _GENERIC_IF.search(last[max(0, now.start() - 60):now.start()]):
            return "live", hits
        state = self._frame(last, hits)
        # "it passed by itself in the spring, but this one...", "... stopped on its own. This
        # one has gone on for ten minutes": the condition is back, named without a symptom.
        if state == "about" and (_RETURN.search(last) or _RETURN_OPEN.search(last)):
            return "live", hits
        if state is None:  # the matches span clauses: frame the message as a whole
            framed = FRAMED.search(last) and not LIVE_AFTER.search(last, FRAMED.search(last).start())
            # ... unless someone is stuck or not breathing now: "me resbalé hace mucho, no me
            # puedo levantar" dates the fall, it does not settle it.
            # A past time counts only when no time-or-return word follows it before a symptom
            # ("years ago he had hypos. tonight he's too drowsy to swallow"; not "since then we
            # have a pendant alarm").
            past = PAST.search(last) or SETTLED.search(last)
            live = past and (LIVE_AFTER.search(last, past.end()) or _NOW_AFTER.search(last, past.end()))
            settled = past and not (live and self._hits(last[live.start():], rules=hits))
            state = "about" if (ABOUT.search(last) or settled or framed) \
                and not STUCK.search(last) else "live"
        return state, hits

    def _frame(self, text: str, rules: list[Rule]) -> str | None:
        """The clause-by-clause reading of the lexicon's matches (`clauses.frame_clauses`):
        "live", "about", or None when no single clause holds a match."""
        return frame_clauses(text, rules, self._hits)

    def vetoable(self, last: str, hits: list[Rule]) -> bool:
        """Whether the classifier may settle the lexicon's `hits` in the latest message (read):
        told at one remove as a whole (`frames.at_one_remove`) and no symptom told in the
        present (`frames.told_present`)."""
        if not at_one_remove(last):
            return False
        cut = cut_idioms(last, lambda m: " " * len(m.group(0)))  # the offsets of `last`
        return not told_present(last, [(m.start(), m.end()) for rule in hits
                                       for symptoms in (False, True)
                                       for m in rule.finditer(cut, symptoms)])

    def veto_bar(self, last: str, hits: list[Rule]) -> float:
        """The p(emergency) below which the classifier settles the lexicon's `hits` in the
        latest message (read): `threshold_veto` when `vetoable`; the far lower
        `threshold_veto_present` (session 12) when the message is told at one remove but a
        symptom in it is told in the present ("is it normal that he's always breathless on the
        stairs?") — no frame settles those, and the classifier is the part that reads them
        across writers; 0 otherwise."""
        assert self.model is not None
        if self.vetoable(last, hits):
            return self.model.get("threshold_veto", 0.0)
        return self.model.get("threshold_veto_present", 0.0) if at_one_remove(last) else 0.0

    def features(self, users: list[str]) -> np.ndarray:
        window = " \n ".join(users[-WINDOW:])
        last_vec = self.encoder.encode_long(users[-1], _CUE)
        win_vec = self.encoder.encode_long(window, _CUE) if len(users) > 1 else last_vec
        return np.concatenate([last_vec, win_vec, cues(users)])

    def probabilities(self, users: list[str]) -> dict[str, float]:
        assert self.model is not None
        logits = self.model["coef"] @ self.features(users) + self.model["intercept"]
        p = np.exp(logits - logits.max())
        p /= p.sum()
        probs = dict(zip(self.model["classes"], map(float, p), strict=True))
        if self.tokens is not None and asks_reader(probs["emergency"], self.model["token_gate"]):
            q = self.tokens.probabilities(*token_texts(users))
            probs = {c: (v + q[c]) / 2 for c, v in probs.items()}
        return probs

    def classifier_alarm(self, users: list[str], pe: float, state: str | None = None) -> bool:
        """The classifier raises the alarm on its own at `threshold_alone`; from the lower
        `threshold` when the recent turns hold a word of the body or of harm ("chest",
        "floor", "breathing", "pills", "el mar"): "mum dropped her cup and it smashed" reads
        close to a fall in the embedding, but names nothing that could be an emergency. Neither
        threshold overrules a message told at one remove with nothing live after (`told_apart`):
        the embedding of a treated sting or a care plan sits close to the emergency itself."""
        assert self.model is not None
        if told_apart(read(users[-1]), state):
            return False
        if pe >= self.model["threshold_alone"]:
            return True
        return pe >= self.model["threshold"] and alarm_words(users)

    def assess(self, users: list[str]) -> Assessment:
        """The latest user message, read with the recent ones."""
        if not users or not any(u.strip() for u in users):
            return Assessment(None)
        state, hits = self.lexicon(users)
        kinds = [r.name for r in hits]
        crisis = any(r.crisis for r in hits)
        last = read(users[-1])
        # A question about an emergency topic, or a settled event of one, gets the number
        # after the answer even when the lexicon has no symptom for it ("what do I do if she
        # chokes?"): the topic and the frame are enough.
        framed = bool(_TOPIC.search(last) and (ABOUT.search(last) or past_match(last)))
        if self.model is None:
            if state is None and framed:
                return Assessment("about", ["unspecified"], False, "about: topic")
            return Assessment(state, kinds, crisis and state == "live",
                              f"lexicon: {', '.join(kinds)}" if kinds else "no red flag")
        p: dict[str, float] | None = None
        if state == "live":
            # The lexicon's alarm needs no second opinion, except when the message is told at
            # one remove as a whole (asked, settled, reported, calm) with nothing happening
            # now, and the classifier is all but sure it is no emergency: the clause reading
            # missed a frame ("the hospital said...", "is that really how fast it happens?").
            veto = self.veto_bar(last, hits)
            if veto > 0:
                p = self.probabilities(users)
                if p["emergency"] < veto:
                    state = "about"
        if state == "live":
            crisis = crisis or bool(_SELF_HARM.search(read(" ".join(users[-WINDOW:]))))
            return Assessment("live", kinds, crisis, f"lexicon: {', '.join(kinds)}",
                              p and p["emergency"])
        p = p or self.probabilities(users)
        pe = p["emergency"]
        if self.classifier_alarm(users, pe, state):
            # The classifier cannot tell which condition; when it raises the alarm alone the
            # crisis line is added if the words point at self-harm.
            crisis = crisis or bool(_SELF_HARM.search(read(" ".join(users[-WINDOW:]))))
            return Assessment("live", kinds or ["unspecified"], crisis,
                              f"classifier: p(emergency)={pe:.2f}", pe)
        if state == "about" or framed or (p["about"] > max(p["none"], 0.5)
                                          and _TOPIC.search(last)):
            return Assessment("about", kinds or ["unspecified"], False,
                              f"about: {', '.join(kinds) or 'classifier'}", pe)
        return Assessment(None, [], False, "no red flag", pe)


# The condition back after a settled telling, named by "this one" rather than by a symptom.
_RETURN = Gated(re.compile(r"\b(but|pero)\b[^.;!?]{0,30}\b(this (one|time|fit|seizure|attack)|esta (vez|"
                           r"convulsion|crisis|empezo|ha empezado)|it.?s back|came back)\b"))
# The same, opening a sentence of its own: "This one...", "Esta ya dura...".
_RETURN_OPEN = re.compile(r"(?:^|[.;!?\n])\s*(this (one|time|fit|seizure|attack)|esta (vez|convulsion|crisis|ya)"
                          r"|it.?s back|ha vuelto)\b")
# Someone in general in a hypothesis: "what to do if someone collapses", "qué hacer si alguien".
_GENERIC_IF = re.compile(r"\b(if|when|si|cuando) (someone|somebody|anyone|a person|alguien|una persona)\b")
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


def token_texts(users: list[str]) -> tuple[str, str | None]:
    """What the token reader reads of the user turns (`token_reader.reader_texts`): the
    latest turn and the recent window, long ones cut at the cue-richest piece. Training reads
    through here too."""
    return reader_texts(users, WINDOW, _CUE)


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
    if not _CUE.search(cut_idioms(read(" ".join(users[-WINDOW:])))):
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
# What a question *about* an emergency talks of (the classifier's "about" needs one of these:
# "how can I help her with showering?" is a care question, not an emergency topic).
_TOPIC = Gated(re.compile(
    r"\b(heart attack|stroke|fast|breath\w*|chok\w*|faint\w*|recovery position|cpr|breathing|"
    r"fit|fits|seizure|epilep\w*|allerg\w*|anaphyla\w*|adrenaline|epipen|bleed\w*|nosebleed|"
    r"blood thinners?|warfarin|head|fall|falls|floor|overdose|double dose|poison\w*|cleaning "
    r"products|hypo\w*|sugar|glucose|sepsis|infection|suicid\w*|hopeless|low mood|wander\w*|"
    r"missing|gps|trackers?|unconscious|999|a&e|emergenc\w*|infarto|ictus|respir\w*|atragant\w*|"
    r"desmay\w*|posicion lateral|convulsi\w*|crisis|epilep\w*|alergi\w*|anafila\w*|adrenalina|"
    r"sangr\w*|anticoagulantes?|sintrom|cabeza|caida|suelo|sobredosis|dosis doble|intoxica\w*|"
    r"productos de limpieza|hipogluc\w*|azucar|glucosa|sepsis|infeccion|suicid\w*|esperanza|"
    r"tristeza|salga de casa|se pierde|localizador\w*|gps|inconsciente|112|urgencias?|asthma|asma|"
    r"ambulance|ambulancia|alergic[oa]|golpes?|caer\w*|cae|cayo|fell|collaps\w*|apixaban|eliquis|"
    r"adiro|nosebleeds?|chest pain|dolor de pecho|lips|labios)\b"))
