# ruff: noqa: E501  (the regular expressions stay whole, one alternative group a line)
"""Is this a live emergency, a question about one, or neither? Recall comes first.

Two opinions, combined so that either can raise the alarm:

1. **The symptom lexicon** (the policy's `red_flags`): one entry per condition for which NHS
   999 / Spanish 112 guidance says "call now", in the words carers use for what they see.
   Idioms that hold symptom words ("my feet are killing me", "me muero de ganas") are cut out
   first. A match is *about* rather than live when the latest message asks about signs or what
   to do ("what are the signs of…", "¿qué hago si…?") or tells of a past, settled event
   ("had a stroke two years ago", "se dio un golpe ayer pero está bien"), unless it also says
   it is happening now. Matches may run across the recent user turns into the latest one
   ("Mum had a fall" / "she's been on the carpet for five hours").
2. **A learned classifier** (scikit-learn logistic regression, three classes: emergency,
   about, none) over the multilingual sentence embedding of the latest message and of the
   recent user turns, plus the lexicon's own signals. It hears what the lexicon has no words
   for; its weights (`emergency_weights.json`) are trained by `python -m
   liquidcare.safety.train_emergency` on `data/emergency_train.jsonl`, and its alarm threshold
   is set low, on `data/emergency_dev.jsonl`, for recall.

The result never blocks a reply: a live emergency puts the number in front of it, a question
about one adds the number after the information.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from liquidcare.text import fold

from .encoder import sample_text
from .policy import Rule

WEIGHTS = Path(__file__).with_name("emergency_weights.json")
CLASSES = ("emergency", "about", "none")
WINDOW = 3  # recent user turns read together

# Figures of speech that hold a symptom word and mean nothing medical. Cut out before the
# lexicon runs (the classifier sees the whole text and learns them from examples).
IDIOMS = re.compile(
    r"\b(is|are|was|were) killing me\b|\b(dying|dead) (to|for)\b|\bnearly died laughing\b"
    r"|\bnearly (gave|give|giving) me a heart attack\b|\bgive me a (heart attack|stroke)\b"
    r"|\bdoing my head in\b|\bblood ?bath\b|\bbleeding (us|me|them) dry\b|\bchoking up\b"
    r"|\bdrowning in\b|\bsuffocating\b|\bout like a light\b|\bend of my (rope|tether)\b"
    r"|\bcould murder\b|\bbrain is fried\b|\bdead set\b|\bkill (for|time)\b"
    r"|\bme muero (de|por)\b|\bse muere de (risa|ganas)\b|\bcasi me muero de\b|\bme (esta|estan) matando\b"
    r"|\bme mata\b|\bme va a dar un (infarto|ictus)\b|\bcasi me da un infarto\b"
    r"|\bme ahogo en un vaso de agua\b|\bme ahogo entre\b|\bnos esta desangrando\b"
    r"|\bcorazon en un puno\b|\bhasta el cuello\b|\bme estalla la cabeza\b|\bcabeza loca\b"
    r"|\basfixiante\b|\bse quedo frit[oa]\b|\bpain in the (neck|backside|bum|arse)\b"
    r"|\b(could|would) kill for\b|\bmataria por\b|\bes un dolor de cabeza\b"
    r"|\bbuen corazon\b|\bheart of gold\b"
    r"|\b(nearly|almost) (had|have|having|gave me|give me) (a fit|kittens|a heart attack|a stroke)\b"
    r"|\bchoking on (all )?(the |this |these |my )?(paperwork|forms|admin|emails|bills)\b"
    r"|\b(will|.ll|would|is going to|gonna) kill (me|us|him|her)\b(?= (if|when|for))"
    r"|\b(me|nos|te) (mata|matara|va a matar) si\b|\bcasi me da (algo|un ataque|un patatus)\b"
    r"|\b(dead on (my|his|her) feet|bored to death|sick to death|scared to death|to die for)\b"
    r"|\b(muert[oa]s? de (cansancio|miedo|aburrimiento|verguenza|hambre|frio|sueno))\b"
    r"|\b(harta?|harto) hasta morir\b|\bpara morirse de\b|\bpasado a mejor vida\b"
    r"|\b(nearly|almost) (passed out|fainted|died|collapsed)\b(?= when (i|we) (saw|heard|got|read|"
    r"opened))|\bcasi me (desmayo|muero|da algo) (cuando|al) (vi|ver|oi|oir|lei|leer|abri|abrir)\b")

# Asking about signs, what to do, or how to prevent: information, not an alarm.
ABOUT = re.compile(
    r"\b(what|which) (are|is) (the )?(early |warning |first |usual |main )?(signs?|symptoms?|"
    r"difference|risk)\b|\bdifference between\b|\bque diferencia\b|\bwhat does .{0,40}\b(feel like|stand for|mean)\b|\bwhat is (a |an )?"
    r"\w+\b\s*\?|\bhow (do|can|would|should) (i|we|you|one) (tell|know|recogni[sz]e|spot|check|"
    r"treat|use|help|stop|prevent|avoid|lower|reduce|store|talk|support|put)\b"
    r"|\bwhat (should|do|would|can) (i|we) do if\b|\bwhat happens if\b|\bwhen (should|do|is|must)"
    r"\b|\bhow long (should|does|can|is)\b|\bif (he|she|they|someone|my \w+|mum|dad) (ever|has|have"
    r"|had|gets|starts)\b.{0,60}\?|\bin case\b|\bever (goes|has|gets|needs?)\b"
    r"|\bis (it|there) (anything|something) to (watch|look)\b|\bwhat should we (look|watch)\b"
    r"|\bshould i give\b|\bis it (normal|safe|okay|ok)\b|\bcan (he|she|they) (fly|drive|exercise)\b"
    r"|\b(cuales|cual|que) (son|es) (los|las)? ?(primeras )?(sintomas|senales|diferencia)\b"
    r"|\bque se siente\b|\bque es (la|el|un|una) \w+\s*\?|\bcomo (se|lo|la|le|les)? ?"
    r"(reconoce|sabe|usa|pone|trata|guardo|evito|evitamos|ayudo|apoyo|hablo|paro|compruebo|"
    r"hacemos)\b|\bque (hago|hacemos|debo hacer) si\b|\bque pasa si\b|\bcuando (debo|hay que|es)\b"
    r"|\bcuanto (tiempo|tiene que)\b|\bpor si\b|\balgun dia\b|\bque vigil\w*\b|\bque senales\b"
    r"|\bse debe dar\b|\bes (normal|grave)\b|\bpuede (viajar|conducir|hacer ejercicio)\b"
    r"|\b(has|have) (anything|something) to do with\b|\btiene (algo )?que ver con\b"
    r"|\b(the same|the same kind of thing) as\b|\bes lo mismo que\b|\b(explain|explicas|explicame)\b"
    r"|\bque significa\b|\bwhat does .{0,30}\bmean\b")
# A past or settled event.
PAST = re.compile(
    r"\b(\d+|a few|few|two|three|several|some) (years?|months?|weeks?) ago\b|\blast (year|month|"
    r"week|spring|summer|autumn|winter)\b|\bin (19|20)\d\d\b|\byesterday\b.{0,40}\b(but|and)\b.{0,30}"
    r"\b(fine|okay|ok|better|coughed it up)\b|\b(has been|seems|is|was) (fine|okay|ok|better|much"
    r" better)\b(?! than)(?!.{0,40}\b(now|then|until|suddenly|but)\b)|\b(cleared|recovered|got over)\b"
    r"|\bhace (\d+|unos|dos|tres|varios|unas) (anos|meses|semanas)\b|\b(el|la) (ano|mes|semana|"
    r"primavera|verano|invierno) pasad[oa]\b|\ben (19|20)\d\d\b|\bayer\b.{0,40}\bpero\b.{0,30}"
    r"\b(bien|tosiendo|lo echo)\b|\b(esta|parece) (bien|mucho mejor|mejor)\b|\bya (habla|esta) mejor\b"
    r"|\bse le ha curado\b|\bel medico dijo\b|\bthe gp said\b"
    r"|\b(went|goes|has gone) away\b|\b(stopped|settled|passed) (after|on its own|by itself|"
    r"straight away|quickly|when)\b|(?<!not )\b(breathing|chatting) (fine|normally|away)\b"
    r"|\b(hospital|doctor|gp|a&e) said (he|she|they|it)('s| is| was)? ?(fine|ok|okay)\b"
    r"|\bse (me|le) (paso|ha pasado|quito)\b|\bparo (en|al|enseguida|solo|sola)\b|(?<!no )\b(respira|habla)"
    r" (bien|normal|sin problema)\b|\bdijeron que (esta|estaba) bien\b|\brecupera\w*\b|recovering\b"
    r"|\b(in|last|since|back in) (january|february|march|april|may|june|july|august|september|"
    r"october|november|december)\b|\ben (enero|febrero|marzo|abril|mayo|junio|julio|agosto|"
    r"septiembre|octubre|noviembre|diciembre)\b|\b(years|ages) ago\b|\bhace (anos|tiempo|mucho)\b"
    r"|\b(paramedics?|ambulance|hospital|doctors?|gp|nurse|a&e|first aider|out of hours)\b.{0,40}"
    r"\b(checked|treated|examined|looked at|saw|sent|discharged|said)\b|\bsent (him|her|them|me) home\b"
    r"|\bdischarged\b|\b(is|are|he.?s|she.?s) (home|back home) (and|now)\b|\b(is|are|he.?s|she.?s|"
    r"doing) (well|fine) now\b|\ball (is )?well\b"
    r"|\b(l[oa]s?|le) (revis\w*|miraron|examinaron|trataron|atendieron|mandaron a casa)\b"
    r"|\btrataron\b|\bdieron el alta\b|\btodo bien\b|\b(ahora|ya) esta (bien|en casa)\b"
    r"|\besta en casa bien\b")
# Happening now: overrides an about or past frame.
NOW = re.compile(
    r"\b(right now|just now|at the moment|(he|she|they|mum|dad|it)('s| is| are) having|"
    r"(he|she|they)('s| is| are) (not breathing|unconscious|choking|fitting)|help me|please help)\b"
    r"|\b(ahora mismo|en este momento|esta (convulsionando|sangrando|ahogandose)|"
    r"no respira|ayudame|por favor ayuda)\b")


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
                 weights_path: Path = WEIGHTS, use_classifier: bool = True) -> None:
        self.rules = red_flags
        self.encoder = encoder
        self.model: dict | None = None
        if use_classifier and encoder is not None and weights_path.exists():
            data = json.loads(weights_path.read_text(encoding="utf-8"))
            self.model = {"coef": np.asarray(data["coef"], dtype=np.float32),
                          "intercept": np.asarray(data["intercept"], dtype=np.float32),
                          "classes": list(data["classes"]),
                          "threshold": float(data["threshold"]),
                          "threshold_alone": float(data.get("threshold_alone",
                                                            data["threshold"]))}

    # ---------------------------------------------------------------- the lexicon
    def _hits(self, text: str, start: int = 0, rules: list[Rule] | None = None) -> list[Rule]:
        """Rules (of `rules`, default all) matching `text` with a match ending after `start`
        (so that in a window of turns the latest turn takes part)."""
        acute = bool(_ACUITY.search(text, start))

        def hit(rule: Rule, symptoms: bool = False) -> bool:
            if start == 0:
                return rule.search(text, symptoms) is not None
            return any(m.end() > start for p in rule.candidates(text, symptoms)
                       for m in p.finditer(text))

        return [rule for rule in (self.rules if rules is None else rules)
                if hit(rule) or (acute and rule.symptoms and hit(rule, symptoms=True))]

    def lexicon(self, users: list[str]) -> tuple[str | None, list[Rule]]:
        last = IDIOMS.sub(" ", fold(users[-1]))
        hits = self._hits(last)
        if not hits and len(users) > 1:
            earlier = [IDIOMS.sub(" ", fold(t)) for t in users[-WINDOW:-1]]
            joined = " ".join(earlier) + " "
            hits = self._hits(joined + last, start=len(joined))
        if not hits:
            return None, []
        if NOW.search(last):
            return "live", hits
        state = self._frame(last, hits)
        if state is None:  # the matches span clauses: frame the message as a whole
            state = "about" if ABOUT.search(last) or PAST.search(last) else "live"
        return state, hits

    def _frame(self, text: str, rules: list[Rule]) -> str | None:
        """"live" when a symptom is told as happening (a statement), "about" when every
        symptom sits in a general question or in a settled, past event; None when no single
        clause holds a match. Only `rules`, those that matched the whole text, are tried on
        its clauses: a long message has a hundred clauses, and the other rules cannot match
        a piece of a text they do not match."""
        live = about = False
        spans = [(m.start(), m.end()) for rule in rules
                 for p in rule.candidates(text) + rule.candidates(text, symptoms=True)
                 for m in p.finditer(text)]
        for sm in _SENTENCE.finditer(text):
            sentence, offset = sm.group(0), sm.start()
            question = sentence.rstrip().endswith("?") or sentence.lstrip().startswith("¿")
            cuts = [(c.start(), c.end()) for c in _CLAUSE.finditer(sentence)]
            bounds = zip([0] + [e for _, e in cuts], [b for b, _ in cuts] + [len(sentence)],
                         strict=True)
            for a, b in bounds:
                clause = sentence[a:b]
                # Only a clause that a match of the whole text reaches can hit by itself.
                if not any(x < offset + b and y > offset + a for x, y in spans):
                    continue
                if not clause.strip() or not self._hits(clause, rules=rules):
                    continue
                # A past event settles its sentence, except a clause that says what is
                # happening now ("he had his operation last week, now he's shivering").
                settled = bool(PAST.search(clause)) or (
                    bool(PAST.search(sentence)) and not _NOW_AFTER.search(clause))
                opening = clause.strip(" ¿¡\"'")
                # Asked, not told: a clause opening as a question or a hypothesis, or a
                # question about people in general ("can a UTI turn into sepsis in an older
                # person?"), not about someone here.
                asks = question and (_QWORD.match(opening) or (
                    _GENERIC.search(opening) and not _SPECIFIC.search(opening)))
                if asks or ABOUT.search(clause) or settled:
                    about = True
                else:
                    live = True
        return "live" if live else ("about" if about else None)

    def features(self, users: list[str]) -> np.ndarray:
        window = " \n ".join(users[-WINDOW:])
        last_vec = self.encoder.encode_long(users[-1], _CUE)
        win_vec = self.encoder.encode_long(window, _CUE) if len(users) > 1 else last_vec
        # The cues read what the encoder reads: the message, or the sample of a long one
        # (the same text on every training message, which are short).
        folded = fold(" ".join(sample_text(users[-1], _CUE)))
        # Not the lexicon's verdict itself: the classifier is meant to be a second, independent
        # opinion (trained beside a lexicon that finds every training emergency, it would
        # learn to copy it). Only the framing cues, which carry no symptom words: asking
        # about, a past event, an idiom, acuity, and a mild, calm or denied symptom (an
        # embedding hears "a slight headache" close to "a headache").
        cues = np.array([bool(c.search(folded)) for c in (ABOUT, PAST, IDIOMS, _ACUITY, _MILD,
                                                           _CALM, _DENIED)], dtype=np.float32)
        return np.concatenate([last_vec, win_vec, CUE_WEIGHT * cues])

    def probabilities(self, users: list[str]) -> dict[str, float]:
        assert self.model is not None
        logits = self.model["coef"] @ self.features(users) + self.model["intercept"]
        p = np.exp(logits - logits.max())
        p /= p.sum()
        return dict(zip(self.model["classes"], map(float, p), strict=True))

    def classifier_alarm(self, users: list[str], pe: float) -> bool:
        """The classifier raises the alarm on its own at `threshold_alone`; from the lower
        `threshold` when the recent turns hold a word of the body or of harm ("chest",
        "floor", "breathing", "pills", "el mar"): "mum dropped her cup and it smashed" reads
        close to a fall in the embedding, but names nothing that could be an emergency."""
        assert self.model is not None
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
        if self.model is None:
            return Assessment(state, kinds, crisis and state == "live",
                              f"lexicon: {', '.join(kinds)}" if kinds else "no red flag")
        if state == "live":  # the lexicon's alarm needs no second opinion
            crisis = crisis or bool(_SELF_HARM.search(fold(" ".join(users[-WINDOW:]))))
            return Assessment("live", kinds, crisis, f"lexicon: {', '.join(kinds)}")
        p = self.probabilities(users)
        pe = p["emergency"]
        if self.classifier_alarm(users, pe):
            # The classifier cannot tell which condition; when it raises the alarm alone the
            # crisis line is added if the words point at self-harm.
            crisis = crisis or bool(_SELF_HARM.search(fold(" ".join(users[-WINDOW:]))))
            return Assessment("live", kinds or ["unspecified"], crisis,
                              f"classifier: p(emergency)={pe:.2f}", pe)
        if state == "about" or (p["about"] > max(p["none"], 0.5)
                                and _TOPIC.search(fold(users[-1]))):
            return Assessment("about", kinds or ["unspecified"], False,
                              f"about: {', '.join(kinds) or 'classifier'}", pe)
        return Assessment(None, [], False, "no red flag", pe)


_SENTENCE = re.compile(r"[^.!?;\n]+[.!?;\n]*")
_CLAUSE = re.compile(r",|\b(?:but|although|pero|aunque)\b")
# A clause that opens as a question: asked about, not told.
_QWORD = re.compile(
    r"(what|how|when|where|which|why|who|should|can|could|is|are|was|do|does|did|will|would|"
    r"any|que|como|cuando|donde|cual|cuales|cuanto|cuanta|cuantos|por que|quien|debo|debe|"
    r"deberia|se puede|puedo|puede|es|hay|tiene que|en que|if|in case|suppose|imagine|say|si|"
    r"por si|en caso de|supongamos|imagina)\b")
_NOW_AFTER = re.compile(r"\b(now|since then|this (morning|evening|afternoon)|tonight|ahora|desde "
                        r"entonces|esta (manana|tarde|noche))\b")
# People in general, and someone in particular (see `_frame`).
_GENERIC = re.compile(
    r"\b(someone|somebody|a person|people|anyone|an? (older|elderly) (person|man|woman)|older "
    r"people|the elderly|a child|alguien|una persona|la gente|las personas|personas mayores|"
    r"un nino|una nina|cualquiera|after (a|an)|despues de (un|una)|tras (un|una))\b")
_SPECIFIC = re.compile(
    r"\b(my|our|mum|mom|dad|husband|wife|son|daughter|grandma|grandad|grandpa|he|she|he.?s|"
    r"she.?s|mi|mis|nuestr[oa]|mama|papa|marido|mujer|hijo|hija|abuel[oa])\b")
# Acuity cues: what turns a symptom into "now, and bad".
_ACUITY = re.compile(
    r"\b(sudden(ly)?|all of a sudden|now|just|won.?t (stop|go|shift)|getting worse|worse and worse"
    r"|for (the last )?(\d+|ten|twenty|thirty|forty|half an hour|an hour|hours)|really bad(ly)?|very|"
    r"can.?t|keeps?|de (repente|golpe)|ahora|no (para|se (le )?(pasa|quita))|cada vez (mas|peor)|"
    r"desde hace|muy|mucho|no puede|lleva)\b")
# Words of the body and of harm: they point the embedding sample of a long message at the
# right pieces, and let the classifier raise the alarm below its threshold for speaking alone.
_CUE = re.compile(
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
    r"cuerda|tirarme|sobredosis)\b")
# A mild, calm or denied symptom: cues for the classifier.
_MILD = re.compile(
    r"\b(slight(ly)?|a (bit|little)|mild(ly)?|minor|small|tiny|un poco|algo de|liger[oa]|"
    r"leve|pequen[oa]|poquito)\b")
_CALM = re.compile(
    r"\b(fine|okay|ok|no harm|nobody (got )?hurt|not hurt|on (its|their) own|went away|gone now|"
    r"settled|normal(ly)?|as usual|(same )?as always|bien|nadie se hizo|no paso nada|se (le )?"
    r"(quito|paso)|como siempre|sin problema|funny|gracia|loves?|le encanta)\b")
_DENIED = re.compile(
    r"\b(no (fever|temperature|pain|rash)|not (swollen|sore|hurt|bleeding)|isn.?t (swollen|sore|"
    r"bleeding)|no tiene (fiebre|dolor)|sin (fiebre|dolor)|no esta hinchad[oa])\b")
# The cues are scaled so that the L2 penalty does not drown them beside the 1,024 embedding
# dimensions (3 did better than 1 on the dev set).
CUE_WEIGHT = 3.0


def alarm_words(users: list[str]) -> bool:
    """Whether the recent user turns hold a word of the body or of harm (`_CUE`)."""
    return bool(_CUE.search(fold(" ".join(users[-WINDOW:]))))
_SELF_HARM = re.compile(
    r"\b(die|dying|kill|end (it|my life)|suicid\w*|wake up|better off|morir|matar\w*|suicid\w*|"
    r"acabar con|despertar|mejor sin mi|quitarme la vida)\b")
# What a question *about* an emergency talks of (the classifier's "about" needs one of these:
# "how can I help her with showering?" is a care question, not an emergency topic).
_TOPIC = re.compile(
    r"\b(heart attack|stroke|fast|breath\w*|chok\w*|faint\w*|recovery position|cpr|breathing|"
    r"fit|fits|seizure|epilep\w*|allerg\w*|anaphyla\w*|adrenaline|epipen|bleed\w*|nosebleed|"
    r"blood thinners?|warfarin|head|fall|falls|floor|overdose|double dose|poison\w*|cleaning "
    r"products|hypo\w*|sugar|glucose|sepsis|infection|suicid\w*|hopeless|low mood|wander\w*|"
    r"missing|gps|trackers?|unconscious|999|a&e|emergenc\w*|infarto|ictus|respir\w*|atragant\w*|"
    r"desmay\w*|posicion lateral|convulsi\w*|crisis|epilep\w*|alergi\w*|anafila\w*|adrenalina|"
    r"sangr\w*|anticoagulantes?|sintrom|cabeza|caida|suelo|sobredosis|dosis doble|intoxica\w*|"
    r"productos de limpieza|hipogluc\w*|azucar|glucosa|sepsis|infeccion|suicid\w*|esperanza|"
    r"tristeza|salga de casa|se pierde|localizador\w*|gps|inconsciente|112|urgencias?)\b")
