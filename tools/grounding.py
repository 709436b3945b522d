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
  shifted by a power of ten, in a statement of a value (below), it is a misread.
- **same label**: the words before the reasoning number ("the atomic number of sodium is")
  match the words before exactly one passage number ("Sodium has ... atomic number"): two
  words in common, or one when either side names it by a single word ("Na 22.99", "h ="). A
  number that agrees is a use; one off by at most 25% or by a power of ten is a misread;
  anything further off is taken to be another quantity and left alone, and so is one within
  0.5% that is not a rounding (another edition of a standard value).

A number the question gives is its data and is never tied. A misread is only looked for in
a *statement* of a value: no digit and no arithmetic between
the start of its clause and the number (`h = 6.626e-33`, "its atomic number is 10"), so a
result worked out from the value (`22.99 g = 0.02299 kg`) is never mistaken for a copy. A
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
_ARITHMETIC = re.compile(r"[+×*/÷]|\\times|\\cdot|\\frac|(?<![\w\\])-(?=\s*[\w(\\])")
_POWER_BEFORE = re.compile(r"[\^_]\s*\{?\s*[-−]?\s*$")
_WORD = re.compile(r"(?<!\\)\b[A-Za-z][A-Za-z]*\b")
_STOP = frozenset(
    "a an the is are was were be of and or so its it has have had with in at to for as that "
    "this these we which value values approximately about around roughly given by use using "
    "equals equal each one per then there here what how let our find first now".split()
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
    stated: bool  # no digit and no arithmetic before it in its clause
    context: str  # its clause up to it, as written (the end of a long one)


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
        starts = [m.end() for m in _BOUNDARY.finditer(text, 0, match.start())]
        clause = text[starts[-1] if starts else 0 : match.start()]
        # LaTeX commands and possessives ("Planck's") are not words of the label.
        plain = re.sub(r"\\[A-Za-z]+|['’]s\b", " ", clause)
        words = [w.lower() for w in _WORD.findall(plain)]
        label = frozenset(w for w in words[-_LABEL_WORDS:] if w not in _STOP)
        stated = not re.search(r"\d", clause) and not _ARITHMETIC.search(clause)
        value, digits, place = parsed
        context = " ".join(f"{clause}{match[0]}".split())[-_CONTEXT_CHARS:]
        found.append(Number(match[0].strip(), value, digits, place, label, stated, context))
    return found


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


def _copied_digits(stated: Number, passage: Number) -> bool:
    scientific = re.search(r"[eE][-+−]?\d|10\s*\^|10[⁰¹²³⁴⁵⁶⁷⁸⁹⁻]", stated.text) is not None
    long_enough = len(stated.digits) >= 4 or (len(stated.digits) >= 3 and scientific)
    return (
        long_enough
        and len(passage.digits) >= len(stated.digits)
        and _shifted_agrees(stated, passage)
    )


def _same_label(stated: Number, passage: Number) -> bool:
    common = stated.label & passage.label
    return len(common) >= 2 or (
        len(common) == 1 and min(len(stated.label), len(passage.label)) == 1
    )


def _close(stated: Number, passage: Number) -> bool:
    if passage.value == 0:
        return False
    """Off by at most 25%, or the passage's number at another power of ten (shown to two
    digits at least: a lone "2" is not 22.99 shifted)."""
    if abs(stated.value - passage.value) <= MISREAD_RATIO * abs(passage.value):
        return True
    return len(stated.digits) >= 2 and _shifted_agrees(stated, passage)


def ground(
    reasoning: str, passages: Sequence[tuple[str, str]], question: str = ""
) -> tuple[ValueUse, ...]:
    """The passage numbers `reasoning` used, each with whether it copied it right; at most
    one use per reasoning number and per passage number. `passages` are the retrieved
    (id, text) pairs the model was shown; no other id is ever named. A number the `question`
    itself gives is its data, never tied to a passage."""
    values = [(pid, n) for pid, text in passages for n in numbers_in(text)]
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


def _ties(stated: Number, values: list[tuple[str, Number]]) -> Iterator[tuple[str, Number, bool]]:
    for pid, value in values:
        if _copied_digits(stated, value):
            same = _agrees(stated, value)
            if same or stated.stated:
                yield pid, value, same
                return
    labelled = [(pid, v) for pid, v in values if _same_label(stated, v)]
    if not labelled:
        return
    best = max(len(stated.label & v.label) for _, v in labelled)
    # Among the best-labelled numbers, those this one could be a reading of at all.
    near = [
        (pid, v) for pid, v in labelled if len(stated.label & v.label) == best and _close(stated, v)
    ]
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
