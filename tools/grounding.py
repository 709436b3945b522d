"""Answers grounded in their passages: which number of which retrieved passage a reasoning
used, and whether it copied it right.

Why: retrieval finds the fact, and a small model then misuses it: an atomic number off by one,
a constant copied with the wrong power of ten. SymPy cannot see that (the question alone does
not hold the fact), but the passage can: the number the reasoning states for a quantity is
compared with the number the passage gives for it.

How a reasoning number is tied to a passage number (conservative, so that a right reasoning
is not refuted; every rule compares the numbers as written, never evaluates text):

- **copied digits**: the reasoning number shows at least 4 significant digits (or 3 written
  with a power of ten: 6.63e-34) and they are the passage number's leading digits, rounded
  or cut (2.02 is not Ne's 20.18 shifted). At the same magnitude it is a use that agrees;
  written with another power of ten, in a statement of a value (below) whose words are all
  the passage's, it is a misread (a bare 6.674 beside G's 6.674e-11 is its mantissa, worked
  on apart; Q = 1.602e-13 is a charge, not e).
- **same label**: the words before the reasoning number ("the atomic number of sodium is")
  are all among the words before exactly one passage number, with the passage's title
  ("Sodium has ... atomic number", two words at least), or the reasoning names it by one
  symbol the passage uses ("Na: 23.99", "h = "). A reasoning word the passage lacks
  ("neutrons", another element's name) means another quantity. A number that agrees is a
  use; one off by at most 25% or by a power of ten is a misread;
  anything further off is taken to be another quantity and left alone, and so is one within
  0.5% that is not a rounding (another edition of a standard value).

A number the question gives is its data and is never tied. A misread is only looked for in
a *statement* of a value: no digit and no arithmetic between the start of its clause and
the number, and no operation right after it (`h = 6.626e-33 J s`, "its atomic number is
10"), so a result worked out from the value (`22.99 g = 0.02299 kg`) or a factor of a
computation (`6.674 × 3000 × 10^-11`) is never mistaken for a copy. A
reasoning number agrees with a passage number when it is that number rounded or cut to the
places the reasoning shows.

Pure text and `Decimal` arithmetic: safe to run in-process on model text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation

from verimath.tools.verdict import Check

__all__ = ["ValueUse", "ground", "grounding_checks", "numbers_in"]

_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")
_NUMBER = re.compile(
    r"(?<![\w.])(?P<sign>[-−])?(?P<mantissa>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
    r"(?:\s*(?:\\times|\\cdot|×|·|\*|x)\s*10\s*(?:\^\s*\{?\s*(?P<power>[-−+]?\s*\d+)\s*\}?"
    r"|(?P<sup>[⁻⁺]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+))|(?<=\d)[eE](?P<e>[-+−]?\d+)(?!\w))?"
)
# Where a clause starts: a sentence end, a line, a semicolon, a comma before a space.
_BOUNDARY = re.compile(r"(?:\.\s|\n|;|,\s|:\s*\n|\$\$)")
# A number an operation continues (`6.674 \times 3000`, `(6.626e-34)(5e14)`) is a factor of a
# computation, not a statement of a value.
_CONTINUED = re.compile(r"\s*(?:[+×*/÷·−-]|\\times|\\cdot|\\frac|\\?\)\s*\\?\()")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
_ARITHMETIC = re.compile(r"[+×*/÷]|\\times|\\cdot|\\frac|(?<![\w\\])-(?=\s*[\w(\\])")
_POWER_BEFORE = re.compile(r"[\^_]\s*\{?\s*[-−]?\s*$")
_WORD = re.compile(r"(?<!\\)\b[A-Za-z][A-Za-z]*\b")
_STOP = frozenset(
    "a an the is are was were be of and or so its it has have had with in at to for as that "
    "this these we which value values approximately about around roughly given by use using "
    "equals equal each one per then there here what how let our find first now "
    # Words that say where a value comes from, not which value it is.
    "passage passages says say said states stated according know known recall note since "
    "because therefore thus hence gives give from table reference see shows listed".split()
)
_LABEL_WORDS = 8
_CONTEXT_CHARS = 80
MISREAD_RATIO = Decimal("0.25")
TOLERATED = Decimal("0.005")


@dataclass(frozen=True, slots=True)
class Number:
    """A number as written in a text, with what came before it in its clause."""

    text: str
    value: Decimal
    digits: str  # significant digits as shown: "6626" for 6.626e-34
    place: int  # power of ten of the last shown digit
    label: frozenset[str]  # the words before it in its clause
    stated: bool  # no digit and no arithmetic before it in its clause, none right after it
    context: str  # its clause up to it, as written (the end of a long one)
    title: frozenset[str] = frozenset()  # a passage number's: the passage title's words


@dataclass(frozen=True, slots=True)
class ValueUse:
    """A number of a retrieved passage that the reasoning used, and whether it copied it."""

    passage: str  # the passage's id (always one that was retrieved and shown)
    passage_value: str  # as the passage writes it
    stated: str  # as the reasoning writes it
    quote: str  # the passage's words up to its number
    agrees: bool

    def detail(self) -> str:
        said = f'passage {self.passage} says "{self.quote}"'
        if self.agrees:
            return f"the reasoning's {self.stated} is the passage's {self.passage_value}: {said}"
        return f"the reasoning states {self.stated}, but {said}"


def numbers_in(text: str) -> list[Number]:
    """Every number of `text` with its clause's words; LaTeX spacing and grouping removed."""
    text = re.sub(
        r"\\[,;!: ]|\{,\}|\\ldots|\\dots|…", lambda m: "," if m[0] == "{,}" else " ", text
    )
    found = []
    for match in _NUMBER.finditer(text):
        parsed = _parse(match)
        if parsed is None or _POWER_BEFORE.search(text, 0, match.start()):
            continue  # an exponent (x^2, m s^{-1}) is not a value
        bounds = list(_BOUNDARY.finditer(text, 0, match.start()))
        clause, label = _clause(text, bounds, match.start())
        if not label and bounds and bounds[-1][0].startswith(","):
            # "R is the gas constant, which is about 8.314": the name is one clause back.
            clause, label = _clause(text, bounds[:-1], match.start())
        continued = _CONTINUED.match(text, match.end()) is not None
        body = _BULLET.sub("", clause)  # a list's "- " or "2. " is not arithmetic
        stated = not re.search(r"\d", body) and not _ARITHMETIC.search(body) and not continued
        value, digits, place = parsed
        context = " ".join(f"{clause}{match[0]}".split())[-_CONTEXT_CHARS:]
        found.append(Number(match[0].strip(), value, digits, place, label, stated, context))
    return found


def _clause(text: str, bounds: list[re.Match[str]], end: int) -> tuple[str, frozenset[str]]:
    """The text from the last boundary to `end`, and its label words. LaTeX commands and
    possessives ("Planck's") are not words of the label."""
    clause = text[bounds[-1].end() if bounds else 0 : end]
    plain = re.sub(r"\\[A-Za-z]+|['’]s\b", " ", clause)
    words = [w.lower() for w in _WORD.findall(plain)]
    return clause, frozenset([w for w in words if w not in _STOP][-_LABEL_WORDS:])


def _parse(match: re.Match[str]) -> tuple[Decimal, str, int] | None:
    mantissa = match["mantissa"].replace(",", "")
    power_text = match["power"] or match["e"] or (match["sup"] or "").translate(_SUPERSCRIPTS)
    try:
        power = int(power_text.replace("−", "-").replace(" ", "")) if power_text else 0
        value = Decimal(mantissa).scaleb(power)
    except (InvalidOperation, ValueError):
        return None
    whole, _, decimals = mantissa.partition(".")
    # An integer's trailing zeros are not digits to match ("300" does not copy 3.00e8), but
    # it still means itself exactly: 10 is not 11 rounded to tens.
    digits = (whole + decimals).lstrip("0") if decimals else whole.strip("0")
    place = power - len(decimals)
    if not digits:
        return None
    return (-value if match["sign"] else value), digits, place


def _agrees(stated: Number, passage: Number) -> bool:
    """The stated number is the passage number rounded or cut to the places it shows."""
    if stated.place < passage.place:
        return stated.value == passage.value
    unit = Decimal(1).scaleb(stated.place)
    return any(
        passage.value.quantize(unit, rounding=mode) == stated.value
        for mode in (ROUND_HALF_UP, ROUND_HALF_EVEN, ROUND_DOWN)
    )


def _shifted_agrees(stated: Number, passage: Number) -> bool:
    """The stated number, moved to the passage number's power of ten, agrees with it."""
    if stated.value == 0 or passage.value == 0:
        return False
    shift = passage.value.adjusted() - stated.value.adjusted()
    moved = replace(stated, value=stated.value.scaleb(shift), place=stated.place + shift)
    return _agrees(moved, passage)


def _scientific(number: Number) -> bool:
    """Written with a power of ten (6.63e-34, 6.63 \\times 10^{-34})."""
    return re.search(r"[eE][-+−]?\d|10\s*\^|10[⁰¹²³⁴⁵⁶⁷⁸⁹⁻]", number.text) is not None


def _copied_digits(stated: Number, passage: Number) -> bool:
    long_enough = len(stated.digits) >= 4 or (len(stated.digits) >= 3 and _scientific(stated))
    return (
        long_enough
        and len(passage.digits) >= len(stated.digits)
        and _shifted_agrees(stated, passage)
    )


def _same_label(stated: Number, passage: Number) -> bool:
    """Every word the reasoning puts before its number is among the passage's words for its
    number and its title (two words at least, one of them the number's own), or the
    reasoning names it by one symbol the passage uses ("Na: 23.99", "h = ..."). A reasoning
    word the passage lacks ("neutrons" beside an atomic number) means another quantity."""
    if not stated.label & passage.label:
        return False  # the title alone ("Moles and Avogadro's number") names no one number
    if len(stated.label) >= 2:
        return stated.label <= passage.label | passage.title
    return len(next(iter(stated.label))) <= 2


def _close(stated: Number, passage: Number) -> bool:
    if passage.value == 0:
        return False
    """Off by at most 25%, or the passage's number at another power of ten (shown to two
    digits at least: a lone "2" is not 22.99 shifted)."""
    if abs(stated.value - passage.value) <= MISREAD_RATIO * abs(passage.value):
        return True
    return len(stated.digits) >= 2 and _shifted_agrees(stated, passage)


def ground(
    reasoning: str, passages: Sequence[tuple[str, ...]], question: str = ""
) -> tuple[ValueUse, ...]:
    """The passage numbers `reasoning` used, each with whether it copied it right; at most
    one use per reasoning number and per passage number. `passages` are the retrieved
    (id, text) or (id, text, title) tuples the model was shown; no other id is ever named.
    A passage's title words join the label of each of its numbers ("Its density is" in the
    iron passage is iron's density). A number the `question` gives is its data, never tied."""
    values = [
        (source[0], replace(n, title=_title_words(source)))
        for source in passages
        for n in numbers_in(source[1])
    ]
    given = {n.value for n in numbers_in(question)}
    uses: dict[tuple[str, str], ValueUse] = {}
    for stated in numbers_in(reasoning):
        if stated.value in given:
            continue
        for pid, value, agrees in _ties(stated, values):
            key = (pid, value.text)
            if key not in uses or (uses[key].agrees and not agrees):
                uses[key] = ValueUse(pid, value.text, stated.text, value.context, agrees)
            break
    return tuple(uses.values())


def _title_words(source: tuple[str, ...]) -> frozenset[str]:
    title = source[2] if len(source) > 2 else ""
    return frozenset(w.lower() for w in _WORD.findall(title) if w.lower() not in _STOP)


def _ties(stated: Number, values: list[tuple[str, Number]]) -> Iterator[tuple[str, Number, bool]]:
    for pid, value in values:
        if _copied_digits(stated, value):
            same = _agrees(stated, value)
            # At another power of ten only a number written with its own and named as the
            # passage names it is a misread: a bare 6.674 beside G's 6.674e-11 is its
            # mantissa worked on apart, and Q = 1.602e-13 is a charge, not e.
            named = bool(stated.label) and stated.label <= value.label | value.title
            if same or (stated.stated and _scientific(stated) and named):
                yield pid, value, same
                return
    # Among the numbers with the same label, those this one could be a reading of at all.
    near = [(pid, v) for pid, v in values if _same_label(stated, v) and _close(stated, v)]
    if len({v.value for _, v in near}) != 1:
        return  # none, or several different numbers: not tied to any
    pid, value = near[0]
    if _agrees(stated, value):
        yield pid, value, True
    elif stated.stated and not _nearly(stated, value):
        yield pid, value, False


def _nearly(stated: Number, passage: Number) -> bool:
    """Within 0.5% without being a rounding: another edition of the value (sulfur's 32.07
    for 32.06, hydrogen's 1.0079 for 1.008), not a misreading; neither tied nor refuted."""
    return abs(stated.value - passage.value) <= TOLERATED * abs(passage.value)


def grounding_checks(uses: Sequence[ValueUse]) -> tuple[Check, ...]:
    """One check per use: passed when the reasoning copied the passage's number, failed
    (with both numbers as evidence) when it misread it."""
    return tuple(
        Check("passage value", "passed" if use.agrees else "failed", use.detail()) for use in uses
    )
