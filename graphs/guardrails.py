"""Guardrails: decide, before any model runs, whether and how a question is answered
(`screen_question`), and what of the chosen answer a user is shown (`guard_output`).

`screen_question` is pure and offline (regular expressions, no model, nothing read at import), so
the graph's guard node stays thin and every decision is tested alone. Each decision is a value:
the cleaned question, one note per decision, a refusal reason, an off-topic flag. In order:

1. Shape: text only (bytes, other types and blank text are refused), at most `max_chars`, no
   control characters or invalid text (lone surrogates). Zero-width and bidi characters, which
   can hide words from a reader, are removed with a note.
2. Prompt injection: `retrieval.screening.screen_text` (narrow patterns already checked on the
   corpora) replaces override phrases, role tags, fake `system:` lines and our own delimiters
   with a marker; leftover chat-template tokens (`<|...|>`) are removed. A math question that
   carries an injection is answered, as data; when nothing but instructions, filler or an
   off-topic request is left, the question is refused.
3. Content policy: requests for operational help with serious harm are refused, by category:
   `weapons` (explosives, bombs, untraceable or automatic firearms), `cbrn` (chemical, biological,
   nuclear, radiological weapons), `violence` (killing or poisoning a person), `self-harm`
   (suicide, self-injury), `malware` (malicious software, breaking into accounts). A pattern needs
   a request ("how do I / steps to / help me" or an imperative) + a making verb + a named target,
   or a first-person self-harm phrase, so "the energy released when TNT explodes", LD50 values,
   fission yields, how viruses spread, or "kill the constant term" all pass.
4. Topic: a question with no math or science signal (notation, units, a quantity question with a
   number, or a math/science word in English, Spanish, French, German, Japanese or Chinese) is
   flagged off-topic, or refused under `off_topic="refuse"`.

A first screen, not a guarantee: paraphrases, other languages and obfuscation get past regular
expressions, so the prompt still treats the question as data. `bench/guardrails.py` measures it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from verimath.graphs.reasoning import THINK_CLOSE, THINK_OPEN
from verimath.graphs.selection import Candidate, Selection
from verimath.graphs.state import Status
from verimath.retrieval.screening import MARKER, screen_text
from verimath.tools.languages import HOW_MANY, TOPIC_STEMS, TOPIC_SUBSTRINGS

__all__ = [
    "InputScreen", "screen_question", "is_on_topic", "POLICY_CATEGORIES", "OutputScreen",
    "guard_output",
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class InputScreen:
    question: str  # cleaned text the model will see ("" when refused)
    notes: tuple[str, ...]  # each decision, one human line each, prefixed "input: "
    refusal: str | None  # reason when the question must not be answered (status "refused")
    off_topic: bool = False


_CHAT_CONTROL = re.compile(r"<\|[a-z_]{2,20}\|>|</?think>", re.I)
_INVISIBLE = re.compile("[\u200b\u200c\u2060\ufeff\u202a-\u202e\u2066-\u2069]")
_WORD = re.compile(r"[^\W_]+")
_FILLER = frozenset(
    "a all also an and any are do instead it just me my now of ok okay or please so tell that the"
    " then this to you your".split()
)

# A request for operational help: "how do I", "steps to", "help me", or an imperative opening a
# sentence. "How do stars produce energy" is not one: the subject must be a person.
_LEAD = (
    r"(?:\b(?:how\s+(?:to|(?:do|does|can|could|would|should|might|will)\s+(?:i|you|we|one"
    r"|some(?:one|body)|people|a\s+person))|instructions?|steps?|guide|recipe|tutorial|procedure"
    r"|ways?\s+to|teach\s+me|show\s+me|tell\s+me|explain\s+how|help\s+me|walk\s+me\s+through"
    r"|i\s+(?:want|need|would\s+like|plan)\s+to)\b\W+(?:[\w'-]+\W+){0,4}?"
    r"|(?:^|[.!?]\s+)(?:please\s+)?(?:can\s+you\s+)?)"
)
_MAKE = (
    r"make|making|build|building|synthesi[sz]e|manufacture|assemble|construct|cook|produce"
    r"|prepare|create|brew|3d[- ]print|print|convert|weaponi[sz]e|obtain|acquire|extract|enrich"
    r"|culture|grow|aerosoli[sz]e|disperse|release"
)


def _request(verbs: str, targets: str, *, gap: int = 3, also: str = "") -> re.Pattern[str]:
    """A request + a verb + at most `gap` words + a target (not "a list of", "like a", "a ...
    model"), "recipe for" + a target, or an `also` phrase, harmful however it is asked."""
    not_gap = r"like|than|as|compared|versus|vs|list|table|history|summary|timeline|chart|diagram"
    words = rf"(?:(?!(?:{not_gap})\b)[\w'-]+\W+){{0,{gap}}}?"
    recipe = r"\b(?:recipe|blueprint|schematic)s?\s+(?:for|of)\s+(?:[\w'-]+\s+){0,2}?"
    pattern = rf"(?:{_LEAD}(?:{verbs})\b\W+{words}|{recipe})(?:{targets})(?!\s+(?:model|simulat))"
    return re.compile(pattern + (f"|{also}" if also else ""), re.I | re.M)


_POLICY: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "weapons",
        _request(
            _MAKE,
            r"(?:pipe\s+|nail\s+|car\s+|letter\s+|fertili[sz]er\s+)?(?<!bath\s)(?<!seed\s)"
            r"bombs?\b(?!\s+calorimet)|explosives\b|explosive\s+(?:device|charge|vest|belt)s?"
            r"|\bIEDs?\b|molotov|grenades?|detonators?|\bTATP\b|\bHMTD\b|\bPETN\b|\bRDX\b|semtex"
            r"|nitroglycerine?\b|napalm|(?:ghost|untraceable|unregistered)\s+(?:gun|firearm)s?"
            r"|(?:silencer|suppressor)s?\b|full[- ]?auto\b|auto[- ]?sear",
        ),
    ),
    (
        "cbrn",
        _request(
            _MAKE,
            r"sarin|soman|tabun|\bVX\b|novichok|nerve\s+(?:agent|gas)|mustard\s+gas|ricin|abrin"
            r"|anthrax|botulinum|chemical\s+weapons?|bio(?:logical)?[- ]?weapons?"
            r"|(?:nuclear|atomic|hydrogen|dirty)\s+(?:bomb|weapon|warhead)s?"
            r"|radiological\s+(?:weapon|dispersal)|weapons?[- ]grade",
        ),
    ),
    (
        "violence",
        _request(
            r"kill|murder|poison|strangle|stab|shoot|assassinate",
            r"some(?:one|body)\b|a\s+(?:person|human|child|kid)\b|people\b|him\b|her\b|them\b"
            r"|my\s+(?:wife|husband|boss|neighbou?r|parents?|mother|father|mom|dad|ex|friend)\b",
            gap=0,
            also=r"\b(?:untraceable|undetectable)\s+poisons?\b|\bhire\s+a\s+hit\s*man\b",
        ),
    ),
    (
        "self-harm",
        _request(
            r"commit",
            r"suicide\b",
            gap=0,
            also=r"\b(?:kill|hurt|harm|cut|hang|poison|starve|shoot)\s+myself\b"
            r"|\bend\s+my\s+(?:own\s+)?life\b|\bi\s+want\s+to\s+die\b|\bsuicide\s+(?:method|note)s?\b"
            r"|\b(?:painless|easiest|quickest|fastest|surest|best)\s+(?:way|method)s?\s+to\s+"
            r"(?:die|commit\s+suicide)\b",
        ),
    ),
    (
        "malware",
        _request(
            r"write|code|create|build|develop|make|program|generate",
            r"ransomware|key\s*loggers?|botnets?|rootkits?|spyware|malware"
            r"|(?:computer|self[- ]replicating)\s+(?:virus|worm)|(?:credential|password)\s+"
            r"(?:stealer|harvester)s?|phishing\s+(?:page|site|email|kit)s?|ddos\s+(?:script|tool|bot)",
            also=rf"{_LEAD}(?:hack|break)\s+into\s+(?:[\w'-]+\s+){{0,3}}?(?:account|e-?mail|phone"
            r"|wi-?fi|computer|instagram|facebook|bank|server|network)s?\b",
        ),
    ),
)
POLICY_CATEGORIES = tuple(name for name, _ in _POLICY)

# Topic signals: any one makes a question on-topic; they are generous to math by design.
_NOTATION = re.compile(
    r"\\[a-zA-Z]+|\$[^$\n]*[=^\\_][^$\n]*\$|[=<>≤≥≠≈±×÷√∑∫∏∞π∂∇∈∉∪∩⊂⊆→⇒∀∃°²³⁴^]"
    r"|\d\s*[-+*/×÷–−x]\s*\(?\d|\b\d+[a-zA-Z]\b|\b[a-zA-Z]\([a-zA-Z0-9]\)|\d\s*%|\$\s?\d"
    r"|[A-Za-z]_\{?\w|\b[ztp]-(?:scores?|tests?|values?)\b"
    r"|\d\s*(?:km|cm|mm|nm|m|kg|mg|g|s|ms|h|hr|min|N|J|kJ|W|kW|V|A|Hz|mol|K|L|mL|eV|Pa|kPa"
    r"|atm|Ω|mph|ft|in|lb|oz|gal)\b"
    r"|\b(?:[A-Z][a-z]?\d*){1,4}\d\b"  # chemical formulas: H2O, CO2, C4
)
_QUANTITY = re.compile(
    r"\b(?:how\s+(?:many|much|long|far|fast|old|often|tall|high|big)|what\s+(?:percent|fraction"
    r"|proportion|number))\b|" + HOW_MANY,  # other languages: the table in tools/languages.py
    re.I,
)
_NUMBER = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|hundred"
    r"|thousand|million|half|twice|double|triple|dozen)\b",
    re.I,
)
_WAYS = re.compile(r"\b(?:number\s+of|how\s+many)\s+(?:ways|arrangements|outcomes)\b", re.I)


def _words(words: str, *, stems: bool) -> re.Pattern[str]:
    """One pattern for a space-separated vocabulary: word starts (`stems`) or whole words."""
    alternation = "|".join(sorted(words.split(), key=len, reverse=True))
    return re.compile(rf"\b(?:{alternation})" + ("" if stems else r"(?:s|es)?\b"), re.I)


# Word starts specific to math and science, in English and (from tools/languages.py) the other
# languages that put spaces between words: one is enough.
_STEMS = _words(
    "solv equation calcul comput evaluat simplif integra derivativ differentia function polynom"
    " matri vector algebra geometr trigonom arithmetic quotient remainder divisib divisor multipl"
    " fraction decimal percent proportion median varianc deviation probabil statistic integer"
    r" prime(?!\s+minister) numer exponent logarithm sequence theorem lemma triangle circle radius"
    " diameter perimeter circumference polygon pentagon hexagon octagon quadrilateral rectangle"
    " parallelogram rhomb trapezoid perpendicular coordinate inequalit congruen vertex vertices"
    " permut combinator factorial binomial modul parabol hyperbol ellips asymptot tangent sine"
    " cosine radian midpoint eigen determinant isomorph homomorph subgroup abelian cyclic converge"
    " diverge summation interval regress correlat outlier histogram quartile statistically"
    " estimator topolog equivalen subset expression dimension sampling"
    " physic momentum velocit accelerat gravit orbit planet galax astronom wavelength photon electr"
    " magnet paramagnet diamagnet ferromagnet voltage circuit quantum atom nucle particle radiat"
    " radioactiv isotope thermodynam temperatur densit friction inertia torque kinetic oscillat"
    " pendulum refract diffract interferen resonan entropy enthalp joule newton ampere hertz kelvin"
    " celsius fahrenheit kilogram kilometer centimet millimet relativ neutron proton neutrino quark"
    " boson fermion fission fusion capacit induct conduct semiconduct dielectric buoy viscos"
    " projectile trajector collision spectr luminos telescop eclipse comet asteroid meteor"
    " supernova nebula pulsar quasar cosmolog redshift solar lunar celestial constellation equinox"
    " solstice atmospher ozone climat tecton volcan geolog mineral erosion rotat vacuum frequenc"
    " harmonic amplitud doppler tension pressur fluid liquid vapor vapour steam evaporat condens"
    " sublimat boiling freezing melting calorimet optic refle prism lens heat energ kepler einstein"
    " chemi molecul molar molal enzyme oxid reduct redox catalys titrat stoichiom alkal ionic"
    " covalent electroneg orbital valence isomer alkane alkene hydrocarbon polymer hydrogen helium"
    " oxygen nitrogen carbon sodium chlorine calcium methane ethanol glucose solut solvent solub"
    " concentrat precipit equilibri exotherm endotherm combust electrolys polar argon neon xenon"
    " lithium potassium magnesium alumin sulfur sulphur phosphor fluor bromin iodin acid conjugat"
    " protein chromosom photosynth metabol neuron anatom organism bacteri biolog ecolog evolution"
    " species mutation genetic allele mitochond ribosom cytoplasm mitosis meiosis hormone antibod"
    " immun viral pathogen vaccin phenotype genotype heredit fossil muscl tissue nutrient biome"
    " ecosystem habitat respirat digest transcript polymerase codon nucleotide amino lipid"
    " carbohydrat membrane embryo zygote gamete fertiliz pollinat insect crustacean arthropod"
    " vertebrate mammal reptile amphibian fungi fungus algae symmetr hemoglobin neural homeostas"
    " osmo diffus transpos linkage eukaryot prokaryot chlorophyll scien hypothes experiment theory"
    r" formula(?!\s+(?:one|1)\b) " + TOPIC_STEMS,
    stems=True,
)
# Short science words that would be too loose as word starts: whole words, also enough alone.
_SCIENCE_WORDS = _words(
    "sky sun earth moon mars venus jupiter saturn mercury neptune uranus pluto ion gas mass"
    " force wave cell gene dna rna atp ph virus motion impulse plasma laser gcd lcm",
    stems=False,
)
# Japanese and Chinese have no spaces between words: their topic words (tools/languages.py)
# are searched as substrings.
_CJK = re.compile(TOPIC_SUBSTRINGS)
# Everyday words that read as math next to a number ("each of the 3 boxes", "a rate of 5").
_EVERYDAY = _words(
    "sum product total average mean mode ratio rate set ring field group unit each per number"
    " digit factor root square cube power base angle area volume graph edge limit series weight"
    " speed light current charge star cost price profit interest discount earn spend pay buy sell"
    " save share split left remaining altogether times more less fewer than equal value degree"
    " meter metre mile inch feet foot yard second minute hour day week month year gram liter"
    " litre pound ounce gallon dollar cent find determine estimate round convert approximately"
    " difference greatest least largest smallest order half third fourth fifth sixth seventh"
    " eighth ninth tenth sample survey random",
    stems=False,
)


def screen_question(
    question: object, *, max_chars: int, off_topic: Literal["flag", "refuse"] = "flag"
) -> InputScreen:
    """Screen one question: the cleaned text, one note per decision, and why it is refused.

    On a refusal the last note repeats the reason, so a graph node can pass `notes` through.
    Raises ValueError only for a misconfiguration (`max_chars` < 1, an unknown `off_topic`).
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be at least 1, got {max_chars}")
    if off_topic not in ("flag", "refuse"):
        raise ValueError(f"off_topic must be 'flag' or 'refuse', got {off_topic!r}")
    notes: list[str] = []

    def refuse(reason: str, *, flagged: bool = False) -> InputScreen:
        return InputScreen("", (*notes, f"input: {reason}"), reason, flagged)

    if isinstance(question, bytes | bytearray | memoryview):
        return refuse("the question is bytes: send text, not bytes (decode it as UTF-8 first)")
    if question is not None and not isinstance(question, str):
        return refuse(f"the question must be text, not {type(question).__name__}")
    if not question or not question.strip():
        return refuse("empty question: ask a math or science question")
    if len(question) > max_chars:
        return refuse(
            f"question is {len(question)} characters, over the limit of {max_chars} "
            "(Settings.max_question_chars)"
        )
    bad = next((i for i, ch in enumerate(question) if _is_invalid(ch)), None)
    if bad is not None:
        return refuse(
            f"question contains control characters or invalid text (U+{ord(question[bad]):04X} "
            f"at position {bad}); send plain UTF-8 text"
        )

    text, hidden = _INVISIBLE.subn("", question)
    if hidden:
        notes.append(f"input: removed {hidden} invisible formatting characters (zero-width/bidi)")
    screened = screen_text(text)
    kinds = ", ".join(screened.flags)
    text, tokens = _CHAT_CONTROL.subn(" ", screened.text)
    text = text.strip()
    if kinds:
        notes.append(
            f"input: neutralised prompt-injection text ({kinds}); the rest is treated as data"
        )
    if tokens:
        notes.append("input: removed chat-template control tokens from the question")
    if kinds and not (_asks_something(text) and is_on_topic(text)):
        return refuse(f"the question is instructions to the model ({kinds}), not a math question")
    if not text:
        return refuse("empty question once control tokens are removed: ask a math question")

    category = next((name for name, pattern in _POLICY if pattern.search(text)), None)
    if category == "self-harm":
        return refuse(
            "refused by the content policy (self-harm); if you are thinking about harming "
            "yourself, please talk to someone you trust or a local crisis line"
        )
    if category is not None:
        return refuse(f"refused by the content policy ({category})")

    if is_on_topic(text):
        return InputScreen(text, tuple(notes), None)
    if off_topic == "refuse":
        return refuse(
            "the question does not look like math or science (Settings.off_topic='refuse')",
            flagged=True,
        )
    notes.append("input: the question does not look like math or science; answered with this flag")
    return InputScreen(text, tuple(notes), None, True)


def is_on_topic(text: str) -> bool:
    """True when `text` carries any math or science signal (see the module docstring)."""
    if any(p.search(text) for p in (_NOTATION, _STEMS, _SCIENCE_WORDS, _CJK, _WAYS)):
        return True
    return bool((_QUANTITY.search(text) or _EVERYDAY.search(text)) and _NUMBER.search(text))


def _is_invalid(ch: str) -> bool:
    category = unicodedata.category(ch)
    return category == "Cs" or (category == "Cc" and ch not in "\n\t\r")


def _asks_something(text: str) -> bool:
    """False when only removal markers and filler words ("and", "please", "now") are left."""
    words = _WORD.findall(text.replace(MARKER, " ").lower())
    return any(word not in _FILLER for word in words)


@dataclass(frozen=True, slots=True)
class OutputScreen:
    answer: str | None  # what the user is shown as the answer
    status: Status
    notes: tuple[str, ...]  # each decision, one human line each, prefixed "output: "/"review: "
    # The model's own form when the answer shown is its value (`Candidate.shown_answer`).
    as_written: str | None = None


def guard_output(
    candidates: Sequence[Candidate], selection: Selection | None, *, max_answer_chars: int
) -> OutputScreen:
    """What of the chosen candidate the user sees: never reasoning tags, at most
    `max_answer_chars`, and a status that is the chosen candidate's verdict only when an answer
    is shown (no answer is `unverified`). Pure: the `finalize` node only passes values in."""
    notes: list[str] = []
    chosen = candidates[selection.chosen] if selection and selection.chosen is not None else None
    answer = chosen.answer if chosen else None
    shown = chosen or (candidates[0] if candidates else None)  # what Answer.reasoning shows
    if shown and shown.generation.forced:
        notes.append("output: no final answer in the response; a short final answer was forced")
    if answer is not None and (THINK_OPEN in answer or THINK_CLOSE in answer):
        answer = answer.replace(THINK_OPEN, "").replace(THINK_CLOSE, "").strip() or None
        notes.append("output: removed reasoning tags from the answer")
    if answer is not None and len(answer) > max_answer_chars:
        answer = answer[:max_answer_chars] + "…"
        notes.append(f"output: answer cut to {max_answer_chars} characters")
    if answer is None:
        notes.append("output: the model gave no final answer")
    status: Status = (
        selection.status if selection is not None and answer is not None else ("unverified")
    )
    if chosen is not None and chosen.source == "reviewer":
        notes.append(f"review: answer overridden by a reviewer ({status} by SymPy)")
    # An unverified or cross-checked answer left unevaluated is shown as its value (what was
    # grouped and cross-checked), its own form beside it; a verified or refuted status is only
    # ever shown with the form that was checked.
    if chosen is not None and answer is not None and status in ("unverified", "cross-checked"):
        value = chosen.shown_answer
        if value is not None and value != chosen.answer and len(value) <= max_answer_chars:
            return OutputScreen(value, status, tuple(notes), as_written=answer)
    return OutputScreen(answer, status, tuple(notes))
