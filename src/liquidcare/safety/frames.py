# ruff: noqa: E501  (the regular expressions stay whole, one alternative group a line)
"""How a message frames the symptoms it names: a figure of speech, a question about them, a past
and settled event, or something happening now (`emergency.EmergencyAssessor` reads these).

Written against folded text (`emergency.read`: lower case, no accents, common misspellings
respelled). `IDIOMS` is cut out before the symptom lexicon runs; `ABOUT` and `PAST` turn a
match into information ("about"); `NOW` overrides them.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .gate import Gated, finditer

# Figures of speech that hold a symptom word and mean nothing medical. Cut out before the
# lexicon runs (the classifier sees the whole text and learns them from examples).
IDIOMS = Gated(re.compile(
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
    r"|\bbuen corazon\b|\bheart of gold\b|\bgasping for (a |an |my )?(brew|cuppa|tea|coffee|drink|pint|fag)\b"
    r"|\b(nearly|almost) chok\w* (laughing|with laughter)\b|\bse (ahoga|ahogaba|ahogo) de (la )?risa\b"
    r"|\blegs? (turn|turned|turns|go|went|goes) to jelly\b|\bpiernas como (un )?flan(es)?\b"
    # a service or a charity named after the condition is not the condition
    r"|\bstroke (unit|ward|nurse|team|clinic|charity|association|club|group|survivors?|service|"
    r"rehab\w*|awareness|specialist|consultant)\b|\b(unidad|asociacion|consulta|planta|enfermera|grupo|"
    r"club|equipo|neurologo|fundacion) (de|del) (ictus|infarto)\b"
    r"|\b(nearly|almost) (had|have|having|gave me|give me) (a fit|kittens|a heart attack|a stroke)\b"
    r"|\bchoking on (all )?(the |this |these |my )?(paperwork|forms|admin|emails|bills)\b"
    r"|\b(will|ll|would|is going to|gonna) kill (me|us|him|her)\b(?= (if|when|for))"
    r"|\b(me|nos|te) (mata|matara|va a matar) si\b|\bcasi me da (algo|un ataque|un patatus)\b"
    r"|\b(dead on (my|his|her) feet|bored to death|sick to death|scared to death|to die for)\b"
    r"|\b(muert[oa]s? de (cansancio|miedo|aburrimiento|verguenza|hambre|frio|sueno))\b"
    r"|\b(harta?|harto) hasta morir\b|\bpara morirse de\b|\bpasado a mejor vida\b"
    r"|\b(nearly|almost) (passed out|fainted|died|collapsed)\b(?= when (i|we) (saw|heard|got|read|"
    r"opened))|\bcasi me (desmayo|muero|da algo) (cuando|al) (vi|ver|oi|oir|lei|leer|abri|abrir)\b"
    # a harmless cause named with the symptom word: a colour from food, a list, leaving work
    r"|\b(blue|purple|black|red) from (the |an? |eating )?(\w+ )?(ice lolly|lolly|ice pop|blueberries|"
    r"blackberries|beetroot|red wine|felt tips?|pen|ink|juice|slush\w*)\b|\b(morad[oa]s?|azul\w*|negr[oa]s?)"
    r" de (comer )?(las |los )?(moras|arandanos|remolacha|polo|helado|vino|rotulador|tinta)\b"
    r"|\b(cayo|caido|cae|fell|fallen) (de|off) (la|the) (lista|list|waiting list|register|rota)\b"
    r"|\b(despedid[oa]|despidiendome|despidiendose) de (todos|todo el mundo) (en el|en la|del|de la) (trabajo|"
    r"oficina|fiesta|cole|colegio|clase|viaje)\b"
    r"|\bse (le|me|te) (salia|sale|salio|va a salir) el corazon por la boca\b|\bheart in (my|his|her) mouth\b"
    r"|\b(is|was) (hell|a nightmare|torture|murder)\b|\bblood (tests?|samples?|results|pressure( check)?)\b"
    r"|\banalisis de sangre\b|\bsacar(le|me|te)? sangre\b"
    # a thing fell, not the person
    r"|\bse (le|me|te|nos) (cayo|ha caido|cae|caen|cayeron) (el|la|los|las|un|una) (monedero|cartera|movil|"
    r"telefono|bolso|vaso|taza|plato|llaves|gafas|mando|libro|cuchara|tenedor|baston)\b"))

# Asking about signs, what to do, or how to prevent: information, not an alarm.
ABOUT = Gated(re.compile(
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
    r"|\bque significa\b|\bwhat does .{0,30}\bmean\b|\b(explico|explicarle|explicarselo|explicar)\b"
    r"|\b(asks?|asked|asking) (me |us |the nurse )?(why|what|how|whether)\b|\b(me |nos )?(pregunta|pregunto|"
    r"preguntaba) (por que|que|como|si)\b"
    r"|\b(sign|symptom) of\b.{0,40}\?|\b(es|son) (una |un )?(senal|senales|"
    r"sintoma|sintomas|signo|signos) de\b|\bat what point\b|\ba partir de cuando\b|\ben que momento\b"
    r"|\bwhat.?s the (right |best )?(thing|way) to do (for|if|when)\b|\bque (se hace|hay que hacer|"
    r"tengo que hacer|tenemos que hacer) (si|cuando)\b|\bsi\b.{0,60}\bque (tengo|tenemos|hay|debo) que hacer\b"
    r"|\bis (that|this) (normal|ok|okay|usual|expected)\b|\b(puede|pueden) (hacer|causar|provocar) que\b"
    r"|\b(can|could) (a|an) \w+( \w+)? (make|cause|turn|give)\b"
    r"|\b(sintomas|senales|signos)\b.{0,30}\b(son|cambian|varian)\b.{0,20}\b(distint|diferent|iguales|los mismos)"
    r"|\b(symptoms|signs)\b.{0,30}\b(different|the same)\b.{0,30}\?|\bque hacer (si|cuando)\b|\bwhat to do (if|when)\b"))
# "bien" before a symptom word is an intensifier in much of Latin America ("está bien pálida",
# "ya está bien frío": very pale, very cold), not "is fine": such a "bien" settles nothing.
_INTENSIFIER = (r"(?! (mal|palid|blanc|fri|morad|azul|gris|amarill|rar|hinchad|calient|debil|floj|"
                r"sudad|confundid|pachuch|malit|dormid|ido\b|ida\b))")
# A past or settled event.
PAST = Gated(re.compile(
    r"\b(\d+|a few|few|two|three|several|some) (years?|months?|weeks?) ago\b|\blast (year|month|"
    r"week|spring|summer|autumn|winter)\b|\bin (19|20)\d\d\b|\byesterday\b.{0,40}\b(but|and)\b.{0,30}"
    r"\b(fine|okay|ok|better|coughed it up)\b|\b(has been|seems|is|was) (fine|okay|ok|better|much"
    r" better)\b(?! than)(?!.{0,40}\b(now|then|until|suddenly|but)\b)"
    # "she was fine an hour ago / this morning" dates the start of something happening now
    r"(?! (an?|half an|a few|\d+|one|two|three|ten|twenty|thirty) (hours?|minutes?|mins?) ago)"
    r"(?! (this morning|at lunch|at breakfast|earlier|before|till|until|yesterday))|\b(cleared|recovered|got over)\b"
    r"|\bhace (\d+|unos|dos|tres|varios|unas) (anos|meses|semanas)\b|\b(el|la) (ano|mes|semana|"
    r"primavera|verano|invierno) pasad[oa]\b|\ben (19|20)\d\d\b|\bayer\b.{0,40}\bpero\b.{0,30}"
    r"\b(bien|tosiendo|lo echo)\b|\b(esta|parece) (bien"
    + _INTENSIFIER + r"|mucho mejor|mejor)\b|\bya (habla|esta) mejor\b"
    r"|\bse le ha curado\b|\bel medico dijo\b|\bthe gp said\b"
    r"|\b(went|goes|has gone) away\b|\b(stopped|settled|passed) (after|on its own|by itself|"
    r"straight away|quickly|when)\b|(?<!not )\b(breathing|chatting) (fine|normally|away)\b"
    r"|\b(hospital|doctor|gp|a&e) said (he|she|they|it)('s| is| was)? ?(fine|ok|okay)\b"
    r"|\bse (me|le) (paso|ha pasado|quito)\b|\bparo (en|al|enseguida|solo|sola)\b|(?<!no )\b(respira|habla)"
    r" (bien|normal|sin problema)\b|\bdijeron que (esta|estaba) bien\b|\brecupera\w*\b|\brecovering\b"
    r"|\b(in|last|since|back in) (january|february|march|april|may|june|july|august|september|"
    r"october|november|december)\b|\ben (enero|febrero|marzo|abril|mayo|junio|julio|agosto|"
    r"septiembre|octubre|noviembre|diciembre)\b|\b(years|ages) ago\b|\bhace (anos|tiempo|mucho)\b(?! (frio|calor|viento|sol|aire|rato))"
    r"|\b(paramedics?|ambulance|hospital|doctors?|gp|nurse|a&e|first aider|out of hours)\b.{0,40}"
    r"\b(checked|treated|examined|looked at|saw|sent|discharged|said)\b|\bsent (him|her|them|me) home\b"
    r"|\bdischarged\b|\b(is|are|he.?s|she.?s) (home|back home) (and|now)\b|\ball (is )?well\b"
    r"|\b(l[oa]s?|le) (revis\w*|miraron|examinaron|trataron|atendieron|mandaron a casa)\b"
    r"|\btrataron\b|\bdieron el alta\b|\btodo bien\b|\b(ahora|ya) esta (bien"
    + _INTENSIFIER + r"|en casa)\b"
    # back to their usual self: the event is over ("has been her usual self ever since")
    r"|\b(his|her|their|my) (usual|normal|old) self\b"
    r"|\besta en casa bien\b|\bthe other day\b|\bel otro dia\b|\bparo hace (un )?rato\b"
    r"|\bstopped (a while|an hour|ages|\w+ minutes|half an hour) ago\b"
    r"|\b(dijeron|dijo|said|told (us|me|her|him))\b.{0,25}\b(no pasaba nada|no era nada|no tenia nada|nothing"
    r" to worry about|nothing (was )?(wrong|broken)|it was nothing)\b"
    r"|\byesterday\b.{0,60}\b(didn.?t|did not) (hurt|injure)\b|\bayer\b.{0,60}\bno se hizo (nada|dano)\b"
    # found again at once; a photo is not the person now
    r"|\b(we |they |i )?found (him|her|them) (straight away|quickly|right away|soon after|a few minutes"
    r" later|safe)\b|\b(l[ao]|le) (encontramos|encontraron|encontre) (enseguida|en seguida|al momento|"
    r"rapido|pronto|sana y salva|sano y salvo|a los \w+ minutos)\b"
    r"|\b(in|on) (the|that|this|a) (photo|picture|selfie|video)\b|\ben (la|esa|esta) (foto|imagen)\b"
    # brought back, and treated with what settled it
    r"|\b(brought|took) (him|her|them) (back|home)\b|\b(l[ao]|le) (trajo|trajeron|devolvieron) (a casa|de vuelta)\b"
    r"|\b(swelling|lump|redness|rash) (went|has gone|came) down\b|\bse (le|me) (bajo|ha bajado) la hinchazon\b"
    # checked since and found clear; dated by the part of a month (session 14); doing well or
    # all right now, or in a hospital's care now (help has come)
    r"|\b(scans?|ct|mri|tests?|bloods|ecg|x-?rays?)\b (was |were |came back |came out |all )?(clear|normal)\b"
    r"|\b(el |la |los )?(tac|escaner|resonancia|analisis|electro|radiografia)\b (salio|ha salido|salieron|"
    r"dio|esta|estan) (bien|normal|limpi[oa]s?)\b"
    r"|\b(at the (start|beginning|end) of|in (early|mid|late)) (january|february|march|april|may|june|july|"
    r"august|september|october|november|december)\b|\ba (principios|mediados|finales) de (enero|febrero|marzo|"
    r"abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre)\b"
    r"|\b(is|are|he.?s|she.?s|they.?re|doing) (doing )?(really |very |so )?(ok|okay|alright|all right|well|"
    r"fine) now\b"
    r"|\bdoing (ok|okay|alright|all right|really well|very well)\b"
    r"|\b(is|he.?s|she.?s|they.?re) (in|on a ward in) (the )?(hospital|infirmary) now\b"))
# Happening now: overrides an about or past frame.
NOW = Gated(re.compile(
    r"\b(right now|just now|at the moment|(he|she|they|mum|dad|it)('s| is| are) having(?! (a |an |her |his |their "
    r"|some )?(nap|rest|lie.?down|sleep|snooze|cup|tea|coffee|lunch|dinner|breakfast|supper|bath|shower|snack|"
    r"drink|biscuit|chat|laugh|good|lovely|nice|great|fun|wash|bite))|"
    r"(he|she|they)('s| is| are) (not breathing|unconscious|choking|fitting)|help me|please help)\b"
    # a plea, not a task asked for: "could you help me write a quiz"
    r"(?! (to )?(write|make|plan|find|understand|choose|draft|word|prepare|fill|organi[sz]e|sort|learn|work out|"
    r"figure|create|design|pick|decide|compare|read|translate|set up|think|put together|with (the|a|an|my|some|this)"
    r" (form|letter|application|quiz|plan|list|email|leaflet|poster|rota)))"
    r"|\b(ahora mismo|en este momento|esta (convulsionando|sangrando|ahogandose)|"
    r"no respira|por favor ayuda)\b|\bayudame\b(?! a (escribir|hacer|preparar|redactar|entender|elegir|buscar|"
    r"rellenar|organizar|planear|planificar|pensar|traducir|leer|decidir))"))
# Told at one remove: a hypothesis, a rule or plan read out, another person's story, a dated
# past event or one with a harmless outcome. Unlike ABOUT and PAST these are worded loosely, so
# they settle a clause only when no live cue (`LIVE_AFTER`) follows in it or after it.
FRAMED = Gated(re.compile(
    # hypothetical and conditional
    r"\bif\b.{0,40}\bever\b|\bif (he|she|they|mum|dad|someone|my \w+) (were|was) to\b|\bsuppose\b"
    r"|\bsupposing\b|\bwhat would happen\b|\bwould (he|she|they|i|we) need\b|\bsuponiendo que\b"
    r"|\bsupongamos que\b|\bque pasaria\b|\bsi algun dia\b|\bnecesitaria\b|\bsi se (diera|tomara|"
    r"cayera|pusiera|quedara)\b"
    # asking what to do, or what to look for
    r"|\bwhat (should|do|must) (i|we|a carer|carers|staff|you) (look|watch) (for|out)\b|\bwhat counts as\b"
    r"|\bwho (do|should) (i|we) (ring|call|phone)\b|\bso (i|we) know when\b|\bhow (do|should|can) "
    r"(i|we|you) (do|give|perform|start)\b|\b(do|should) (i|we) (put|lay|roll|turn|sit) (him|her|them)\b"
    r"|\b(siempre )?(es|son) (un )?motivo (para|de)\b|\bcomo se hace\b|\ba quien llamo\b"
    # a rule, plan, leaflet or course read out; another person's story
    r"|\b(care plan|plan de cuidados|leaflet|folleto|handover|parte del turno|first aid course|"
    r"curso de primeros auxilios|protocol|protocolo)\b|\b(care|support|health|behaviour) plan\b"
    r"|\b(el|su) plan de (la habitacion|cuidados|apoyo)\b|\b(first aid|training) (booklet|handbook|manual|"
    r"handout)\b|\b(manual|libro|apuntes) de primeros auxilios\b|\b(clinic|discharge|hospital) "
    r"letter\b|\ben el informe (pone|dice)\b|\b(told|tells|telling) (us|me) (that )?(if|when)\b"
    r"|\b(nos|me) (dijo|dijeron|ha dicho) que si\b|\bwas telling me\b|\bme (contaba|conto)\b"
    r"|\bshowed us (what|how)\b|\bnos (ensenaron|explicaron)\b"
    r"|\b(on|in) (the |a |that )?(telly|tv|television|film|movie|news|programme|documentary|podcast|"
    r"radio|book|novel|soap)\b|\b(en|de) (la |una |el |un )?(tele|television|pelicula|serie|noticias|"
    r"documental|podcast|radio|libro|novela)\b"
    # dated ("on Sunday" may be a plan: only "last Sunday"), or settled by what it turned out to be
    r"|\ba fortnight ago\b|\bhace (quince|diez|ocho) dias\b|\blast (monday|tuesday|wednesday|"
    r"thursday|friday|saturday|sunday)\b|\bel (lunes|martes|miercoles|jueves|viernes|sabado|domingo)"
    r" pasado\b|\bon the \d{1,2}(st|nd|rd|th)\b|\bel dia \d{1,2}\b|\b(fue|was) (in|en) (the )?(spring|summer|"
    r"autumn|winter|primavera|verano|otono|invierno)\b|\bit was (just )?(a |an )?(indigestion|wind|heartburn|reflux|"
    r"panic attack|low blood pressure|mini stroke|tia|nothing)\b|\b(era|fue) (solo )?(una |un )?"
    r"(indigestion|gases|ansiedad|ataque de ansiedad|la tension|accidente isquemico transitorio|nada)\b"
    r"|\b(stopped|paro) (after|a los)\b"
    # a diagnosis reported after the fact: someone has already seen it and named it
    r"|\b(said|told (us|me|him|her)|dijeron|dijo|nos dijeron)\b.{0,50}\b(it was|it had been|they were|"
    r"(was|were) (down to|from|due to|caused by)|he.?d had|she.?d had|era|eran|fue|fueron|habia sido|"
    r"habia tenido)\b|\b(said|told (us|me)|dijo|dijeron|nos dijo)\b.{0,40}\b(normal|expected|to be expected|"
    r"esperable|de esperar)\b"
    # another person's story passed on, read or heard; someone who died of it; a time gone by
    r"|\b(told|tells|telling) (me|us|her|him) about\b|\b(heard|read) (about|of) (a|an|someone|somebody|this|"
    r"that)\b|\b(me|nos) (hablo|hablaba|ha hablado|conto|contaba|ha contado) (de|sobre)\b|\b(oi|lei|he oido|"
    r"he leido) (hablar )?(de|sobre) (un|una|alguien)\b|\b(died|passed away) (of|from|after)\b"
    r"|\b(murio|fallecio) (de|por|tras)\b|\bused to (work|care|nurse|volunteer)\b|\bdonde (yo )?trabajaba\b"
    # a screen story without "in" / "en": "watched a drama where...", "vi una serie en la que..."
    r"|\b(watch(ed|ing)?|saw|seen|vi|vimos|viendo) (a |an |the |this |that |una |un |la |el |esa |ese )?(\w+ )?"
    r"(drama|film|movie|documentary|programme|program|show|series|soap|episode|serie|pelicula|documental|"
    r"programa|capitulo|telenovela)\b|\b(drama|film|movie|documentary|programme|episode|serie|pelicula|"
    r"documental|capitulo|novel|book|story|novela|libro|cuento) (where|in which|en (la|el) que|donde)\b"
    # a fear for the future (session 14): "I keep worrying mum will have a heart attack"
    r"|\b(worry|worried|worrying|worries|afraid|scared|frightened|terrified|dread)\b( (that|about))?"
    r"[^.?!;]{0,30}\b(will|might|may|could|is going to|would)\b"
    r"|\b(me da miedo|tengo miedo de|temo|me preocupa|me aterra) que\b[^.?!;]{0,30}\b(le de|le pase|tenga|"
    r"se caiga|se ponga|sufra)\b"
    # a holiday gone by named as the date ("on Sunday", "at Christmas" may be a plan); a
    # hypothesis in the past tense about someone else ("if she stopped breathing I wouldn't
    # know", "si se le bajara el azucar"), not the writer's own ("si me muriera")
    r"|\blast (christmas|easter|new year)\b|\b(la navidad|las navidades|la semana santa) pasadas?\b"
    r"|\bif (he|she|they|mum|dad|my \w+|someone|somebody|anyone)( \w+)? (\w+ed|were|was|had|took|fell|got|went|ate|"
    r"drank)\b[^.?!;]{0,50}\b(would|wouldn.?t|could)\b"
    r"|\b(funeral|memorial service|entierro|velatorio|funeral)\b"
    r"|(?<!como )\bsi (?!(yo|me)\b)[^.?!;]{0,40}\b(?!(para|cara|clara|rara|separa|prepara|compara|repara|dispara|"
    r"declara|camara)\b)\w{2,}(ara|aran|iera|ieran|iese|asen)\b"
    # a question asked at one remove: "she wonders what a fit looks like"
    # (not "I'm not sure what to do" / "no sé qué hacer": said in the middle of an emergency)
    r"|\b(wonder(s|ed|ing)?|wants to know|wanted to know) (what|whether|if|how|why)\b"
    r"|\b(me pregunto|se pregunta|se preguntaba|quiere saber|queria saber) (si|que|como|por que)\b"
    # teaching about a condition: a training afternoon, a quiz, a talk
    r"|\b(training|teaching|awareness) (afternoon|morning|day|session|course|event|talk|week)\b|\b(quiz|"
    r"presentation|poster|lesson|module|workshop|talk) (on|about)\b|\bjornada de formacion\b|\b(charla|taller|"
    r"formacion|presentacion|cuestionario|sesion) (sobre|de formacion)\b"
    # a first-aid teacher or class; what turned out to be the cause
    r"|\bfirst aid (trainer|instructor|teacher|class|training|session|lesson)\b|\b(monitor|monitora|"
    r"profesor|profesora|clase|formacion|taller) de primeros auxilios\b"
    r"|\bturned out (to be|it was|(he|she|they) (had|was))\b|\bresulto (ser|que era|que fue|que tenia)\b"
    # what a person in general may feel or do: a general statement, not someone here
    r"|\b(someone|somebody|a person|people|anyone|an? (older|elderly) (person|man|woman)|older people)\b"
    r"( (who|with|having)\b[^.?!;]{0,40})? (may|might|can|could|often|usually|tends? to|will often)\b(?! be\b)"
    r"|\b(alguien|una persona|la gente|las personas|personas mayores)\b[^.?!;]{0,40}\b(puede|pueden|suele|"
    r"suelen)\b(?! (estar|ser)\b)"))
# A live cue after a frame: the symptom is back, or happening now, whatever came before.
LIVE_AFTER = Gated(re.compile(
    # time and return words only: symptom words ("not breathing", "no responde") are what a
    # hypothesis or a plan is about ("if she goes floppy and won't answer")
    r"\b(sudden(ly)?|all of a sudden|right now|just now|at the moment|(but|and) now|now (he|she|"
    r"they|it|mum|dad|his|her)|still|again|is back|came back|getting worse|this (time|fit|seizure|"
    r"one)|de repente|ahora mismo|(pero|y) ahora|ahora (no|esta|tiene|le|se)|todavia|sigue|otra vez|"
    r"de nuevo|cada vez peor|empeora\w*|esta (vez|convulsion|crisis)|ya (dura|lleva)|tonight|esta noche)\b"
    r"|(?<!no )\bha vuelto\b"))
# What makes a settled or framed telling current: time words, a return, and what someone cannot
# do now. Read after the frame only (`told_apart`), so "a fortnight ago" before "now she can't
# breathe" does not hide the second part.
_LIVE_WORD = Gated(re.compile(
    r"\b(now|right now|just now|at the moment|suddenly|all of a sudden|still|again|is back|came back|"
    r"getting worse|worse and worse|this (time|fit|seizure|one)|tonight|since (this (morning|afternoon|"
    r"evening)|last night|breakfast|lunch)|can.?t|cannot|won.?t|will not|not (breathing|responding|"
    r"waking|answering)|for (the last )?(\d+|ten|twenty|thirty|forty|half an hour|an hour|hours)|"
    r"de repente|ahora|todavia|sigue|otra vez|de nuevo|cada vez peor|empeora\w*|esta (vez|convulsion|"
    r"crisis|noche)|desde (esta (manana|tarde|noche)|anoche|el desayuno|la comida|hace)|ya (dura|lleva)|"
    r"lleva|no (puede|para|respira|responde|contesta|despierta|se despierta|reacciona)|badly|really bad|"
    r"acaba de|acaban de|(has|have|he.?s|she.?s) just (\w+ed|gone|fallen|taken|swallowed|drunk|eaten|had)|"
    r"muy mal|fatal|cada vez mas)\b"))
# A recovery told after a time word ("y ahora está hablando con normalidad").
_RECOVERED = Gated(re.compile(r"\b(hablando|respirando|habla|respira) con normalidad\b"
                              r"|\b(talking|breathing|speaking) (normally|fine)\b"
                              r"|\b(quedo|esta|se quedo|se ha quedado) como (nuev[oa]|si nada)\b"
                              r"|\bback to (his|her|their|my) (usual|old|normal) self\b|\bright as rain\b"
                              r"|\b(having|taking) a (nap|rest|lie.?down|snooze)\b|\besta (durmiendo la siesta|descansando)\b"))
# Long-standing or habitual: a slow change, or what a medicine or a condition has always done.
_LONG = Gated(re.compile(
    r"\b(over|in) the (last|past) (\w+ )?(years|months)\b|\bfor (years|months|ages)\b|\bestos (\w+ )?"
    r"(ultimos )?(anos|meses)\b|\bdesde hace (anos|meses)\b|\bsince (starting|taking|she started|he started)"
    r"\b|\bdesde que (toma|empezo|tomo)\b|\bevery (morning|evening|night|day|winter)\b|\bcada "
    r"(manana|noche|dia|invierno)\b"))
# A sentence opening as a question without its mark ("which signs mean we should go to A&E").
QOPEN = re.compile(r"\W*(what|which|how|when|why|could|should|would|is (it|that|this|a|an)|are "
                   r"(these|those|there)|can (a|an|someone|people)|que|como|cuando|cual|cuales|por "
                   r"que|es (normal|grave|lo mismo|para)|se parecen|hay que|a partir de)\b")
_IF = re.compile(r"\b(if|in case|suppose|supposing|si|por si|en caso de que|suponiendo que)\b")


@lru_cache(maxsize=64)
def past_match(last: str) -> re.Match[str] | None:
    """`PAST` on the latest message (folded): the gate, the calm check and the topic frame all
    ask, and on a long message it is the costliest frame to search."""
    return PAST.search(last)


def told_apart(last: str, state: str | None) -> bool:
    """Whether the latest message (folded) is told at one remove: the lexicon read it as about
    or settled, or it asks about signs, tells a settled past event or frames the symptoms (a
    plan, a course, a hypothesis, a dated or explained event), and no live word (`_LIVE_WORD`)
    stands in the clause of the first such frame or after it. The classifier may not overrule
    that reading: "the swelling went down after her antihistamine" reads close to a live
    allergy in the embedding."""
    starts = [m.start() for m in (past_match(last), *(f.search(last) for f in (ABOUT, FRAMED, _RECOVERED,
                                                                          _LONG))) if m]
    if state == "about" and not starts:
        starts = [0]  # asked as a question: the whole message is the frame
    if not starts:
        return False
    first = min(starts)
    clause = max(last.rfind(c, 0, first) for c in ".,;:!?\n") + 1
    for m in finditer(_LIVE_WORD.pattern_object, _LIVE_WORD.anchor, last):
        if m.start() < clause:
            continue
        start = max(last.rfind(c, 0, m.start()) for c in ".,;:!?\n") + 1
        end = min((e for c in ".,;:!?\n" if (e := last.find(c, m.end())) >= 0), default=len(last))
        # Not live: a word inside a condition ("if she goes floppy and won't answer"), or the
        # time word of a recovery ("and now she's talking normally") or of a slow change
        # ("getting worse over the last two years").
        if _IF.search(last, start, m.start()) or any(
                p.pattern_object.search(last, m.end(), end) for p in (PAST, _RECOVERED, _LONG)):
            continue
        if m.group(0) in ("now", "ahora") and _recovery_before(last, start, m.start()):
            continue  # "she's chatting away normally now": the recovery's own time word
        return False
    return True


_JOIN = re.compile(r"\b(but|and|then|pero|y|luego)\b")


def _recovery_before(text: str, start: int, pos: int) -> bool:
    """Whether a recovery or a settled state (`PAST`, `_RECOVERED`) ends just before
    `pos` in its clause, at most two words away and not joined to it by "and" / "but"."""
    for p in (PAST, _RECOVERED):
        for m in p.pattern_object.finditer(text, start, pos):
            gap = text[m.end():pos]
            if len(gap.split()) <= 2 and not _JOIN.search(gap):
                return True
    return False


@lru_cache(maxsize=64)
def live_now(text: str) -> bool:
    """Whether a message (folded) holds a word of something happening now (`_LIVE_WORD` or
    `NOW`) outside a condition: what keeps a question typed without its mark from settling
    a dictated emergency ("is it a stroke her face has dropped and she can't talk")."""
    for m in finditer(_LIVE_WORD.pattern_object, _LIVE_WORD.anchor, text):
        start = max(text.rfind(c, 0, m.start()) for c in ".,;:!?\n") + 1
        if not _IF.search(text, start, m.start()):
            return True
    return bool(NOW.search(text))


_PERSIST = frozenset({"still", "todavia", "sigue"})


def at_one_remove(last: str) -> bool:
    """Whether the latest message (folded) as a whole is told at one remove — it asks
    something (a question mark, or a sentence opening as a question), asks about signs, or
    tells a settled, framed, long-standing or recovered event — and no word of something
    happening now or coming back (`NOW`, `LIVE_AFTER`) stands anywhere in it. Looser than
    `told_apart` about where the frame is, stricter about what is live: it lets a confident
    classifier settle a lexicon match whose own clause carried no frame ("on the telly a
    woman's lips went blue. is that really how fast it happens?"), never one told with "now",
    "again", "this one". The symptom itself must not be told in the present either
    (`told_present`, checked by the caller)."""
    # "still" / "todavía" / "sigue" alone do not count here: a deficit that persists after a
    # settled event ("his mouth still droops, which the consultant said...") is told so too.
    if NOW.search(last) or any(m.group(0) not in _PERSIST for m in finditer(
            LIVE_AFTER.pattern_object, LIVE_AFTER.anchor, last)):
        return False
    asked = "?" in last or "¿" in last or bool(QOPEN.match(last))
    return asked or past_match(last) is not None or any(
        f.search(last) for f in (ABOUT, FRAMED, _LONG, _RECOVERED))


# A present-tense state of someone: "has crushing chest pain", "she's grey", "can't breathe",
# "tiene un dolor fuerte en el pecho", "está sudando", "no puede". Read on the sentence of a
# symptom: told so, the symptom is someone's now, whatever the message asks around it.
_PRESENT = re.compile(
    r"\b(is|are|am|has|have|isn.?t|aren.?t|hasn.?t|can.?t|cannot|won.?t|keeps?|(he|she|it|they|"
    r"i|you|we|mum|dad)( ?.?s| ?.?re| ?.?m)|tiene|tienen|tengo|esta|estan|estoy|ha|han|le duele|"
    r"me duele|no (puede|puedo|respira|responde|para)|acaba de|acaban de|just"
    # session 14: "no consigo que reaccione" (I can't get her to respond) is told now
    r"|no (consigo|consigue|conseguimos|logro|logramos)|(no )?(reacciona|contesta|se despierta|respira))\b")


def told_present(last: str, spans: list[tuple[int, int]]) -> bool:
    """Whether a sentence of the latest message (folded) that holds one of the symptom
    matches `spans` tells it in the present tense (`_PRESENT`); True when no match lies in
    the latest message (the symptom was told in an earlier turn: no veto then)."""
    if not spans:
        return True
    for a, b in spans:
        start = max(last.rfind(c, 0, a) for c in ".!?;\n") + 1
        ends = [e for c in ".!?;\n" if (e := last.find(c, b)) >= 0]
        if _PRESENT.search(last, start, min(ends, default=len(last))):
            return True
    return False
