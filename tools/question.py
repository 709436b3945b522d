"""What a question asks that SymPy can compute: the task `check_answer` checks a candidate against.

Recognition is deliberately conservative. A wrongly recognised task would refute a right answer,
so doubt leaves the question unchecked: numbers in a word problem outside the expression, several
expressions that could be the one asked about, or a question that asks for a quantity derived from
the unknown ("if 2x+3=7, what is 4x?"). Math is found in any language (`$…$` spans, or runs of
math characters with prose words cut out); the prose (solve, compute, derivative, integral, limit,
factor, expand, simplify, gcd/lcm, remainder) is read in English. A question in Japanese,
Chinese, Spanish, French, German, Italian or Russian is first read as English through one table
of cue phrases (`_CUES`), and only when the table covers every word of its prose: an unread word
could change what is asked, so the question is then left unchecked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import sympy

from verimath.tools.equivalence import degrees_as_radians
from verimath.tools.languages import KNOWN_WORDS as _KNOWN_WORDS
from verimath.tools.languages import PROSE_WORD as _PROSE_WORD
from verimath.tools.languages import read_question as _read
from verimath.tools.mathparse import ParseError, free_variables, parse_expression
from verimath.tools.precision import Rounding

__all__ = ["Task", "NoTask", "TaskKind", "recognise", "find_checkable"]

TaskKind = Literal[
    "roots", "system", "value", "expression", "antiderivative", "factor", "expand", "simplify"
]


@dataclass(frozen=True)
class Task:
    """`target` is what SymPy computes or checks against, `source` the question text it came from.

    roots: an equation in one unknown; system: a Tuple of equations; value: a closed expression
    (possibly an unevaluated integral, limit, sum or derivative at a point); expression: an
    expression in free variables to be matched after evaluation; antiderivative: the integrand,
    with `variable`; factor / expand / simplify: the expression to be rewritten in that form.
    `rounding` is the rounding the question asks for, if any (set by `checks.check_answer`)."""

    kind: TaskKind
    source: str
    target: sympy.Basic
    variable: sympy.Symbol | None = None
    real_only: bool = False
    all_roots: bool = True  # False: the question asks for particular roots only
    rounding: Rounding | None = None


@dataclass(frozen=True)
class NoTask:
    reason: str


_WORD_OPERATORS = [
    (r"\b(\d+)\s+choose\s+(\d+)\b", r" \\binom{\1}{\2} "),
    (r"\bmultiplied by\b", " * "),
    (r"\btimes\b", " * "),
    (r"\bdivided by\b", " / "),
    (r"\bplus\b", " + "),
    (r"\bminus\b", " - "),
    (r"\bto the power of\b", " ^ "),
    (r"\bsquared\b", " ^2 "),
    (r"\bcubed\b", " ^3 "),
]
_MATH_CHARS = r"A-Za-z0-9\s+\-*/^=().,!<>\[\]{}\\_|×÷−·√²³π±≤≥"
_MATH_RUN = re.compile(f"[{_MATH_CHARS}]+")
_OPERATOR = re.compile(
    r"[+\-*/^=×÷−·√!<>]|\\(?:frac|dfrac|sqrt|cdot|times|div|int|lim|sum|prod|binom|gcd|bmod)"
)
_DIGITS = re.compile(r"\d+(?:\.\d+)?")
_DEFINITION = re.compile(r"^\s*([A-Za-z])\s*\(\s*([a-z])\s*\)\s*=\s*(.+)$", re.S)

_INTENTS: dict[str, re.Pattern[str]] = {  # other languages are read as English first
    "derivative": re.compile(r"(?<!anti)derivative|differentiate", re.I),
    "integral": re.compile(r"integra(?:l|te)|antiderivative|primitive", re.I),
    "limit": re.compile(r"\blimit\b", re.I),
    "factor": re.compile(r"\bfactori[sz]e\b|\bfactor\b(?!ial)", re.I),
    "expand": re.compile(r"\bexpand\b", re.I),
    "simplify": re.compile(r"\bsimplify\b", re.I),
}
_ORDER = {"second": 2, "third": 3, "2nd": 2, "3rd": 3}
_LIMIT_POINT = re.compile(
    r"as\s+\$?([a-z])\s*\$?\s+(?:approaches|tends\s+to|goes\s+to)\s+\$?([^$?,;]+?)\$?\s*(?:[?.,;]|$)",
    re.I,
)
_BOUNDS = re.compile(r"\bfrom\s+\$?([^$\s,]+)\$?\s+to\s+\$?([^$\s,?]+?)\$?\s*(?:[?.,;]|$)", re.I)
_REMAINDER = re.compile(
    r"remainder\s+(?:when|of)\s+\$?(?P<a>[^$]+?)\$?\s+(?:is\s+)?divided\s+by\s+\$?(?P<m>[^$?.,]+)\$?",
    re.I,
)
# What may come right before an expression whose value is the answer: "What is", "Compute", …
_ASKS_VALUE = re.compile(
    r"(?:^|(?:what\s+is|what's|compute|evaluate|calculate|find|simplify|work\s+out|how\s+much\s+is"
    r"|determine)(?:\s+the\s+(?:exact\s+)?value\s+of)?(?:\s+the\s+expression)?(?:\s+the)?\s*:?)\s*$",
    re.I,
)
# What may follow it: punctuation, `= ?`, or a new sentence about the answer's form.
_AFTER_VALUE = re.compile(
    r"^\s*(?:=\s*)?\??\s*[.?!:,]*\s*(?:$|(?:express|give|write|enter|round(?:ed)?|simplify"
    r"|your\s+answer|to\s+the\s+nearest|(?:correct\s+)?to\s+\w+\s+(?:decimal|significant))\b)",
    re.I,
)
# "to 3 decimal places", "2 significant figures": a precision, not a number of the problem.
_PRECISION = re.compile(
    r"\b\d{1,2}\s+(?:decimal\s+(?:places?|digits?)|significant\s+(?:figures?|digits?))", re.I
)
_COUNTS = re.compile(r"\bhow\s+many\b|\bnumber\s+of\b", re.I)
# "the positive root", "two solutions", "the largest value of x": not every root is asked for.
_SOME_ROOTS = re.compile(
    r"\b(?:positive|negative|nonnegative|non-negative|nonzero|integer|integral|rational|irrational"
    r"|imaginary|largest|smallest|greatest|least|maximum|minimum|one|two|three|four|some|an?)"
    r"\s+(?:possible\s+)?(?:real\s+)?(?:solutions?|roots?|values?|zeros?)\b|\bpure(?:ly)?\s+imaginary\b",
    re.I,
)
_OPERATION_WORDS = set(
    "derivative second third integral antiderivative indefinite definite limit factor factored "
    "factorise factorize expand expanded simplify simplified form expression completely fully "
    "function with respect to from as approaches tends goes at point polynomial".split()
)
_TRIG = re.compile(r"\\?(?:sin|cos|tan|sec|csc|cot)(?![a-z])")
_GCD_LCM = re.compile(
    r"(?P<kind>greatest\s+common\s+(?:divisor|factor)|highest\s+common\s+factor|\bgcd\b|\bhcf\b"
    r"|least\s+common\s+multiple|lowest\s+common\s+multiple|\blcm\b)\s+of\s+"
    r"\$?(?P<numbers>\d+(?:\s*\$?\s*(?:,|and|,\s*and)\s*\$?\s*\d+)+)",
    re.I,
)
_ASKS = re.compile(
    r"(?:what\s+is|what's|what\s+are|find|compute|evaluate|determine|calculate)\s+(?P<target>[^?.;]*)",
    re.I,
)
# Words that may stand around the unknown ("find the real solutions of …") without changing the ask.
_ASK_WORDS = set(
    "the value values of all possible real complex solution solutions root roots zero zeros and "
    "if when such that satisfies satisfy for in is are which each every number numbers exact "
    "exactly set both equation equations system given below above following".split()
)


def find_checkable(question: str) -> list[str]:
    """Math fragments of a question, in any language: `$…$` spans, else runs of math characters
    with prose words cut out. Word operators (`17 times 23`) become symbols first."""
    return _math_fragments(_read(question).text)


def _math_fragments(question: str) -> list[str]:
    text = _words_to_symbols(question)
    delimited = re.findall(r"\$\$(.+?)\$\$|\$(.+?)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", text, re.S)
    if delimited:
        return [next(part for part in parts if part).strip() for parts in delimited]
    fragments = []
    for run in _MATH_RUN.findall(text):
        for piece in _split_prose(run):
            piece = _trim_punctuation(piece)
            if piece and _OPERATOR.search(piece) and re.search(r"\d|[a-z]", piece):
                fragments.append(" ".join(piece.split()))
    return fragments


def recognise(question: str) -> Task | NoTask:
    """The one task the question poses that SymPy can check, or why there is none. A question
    in another language is read through `_CUES` first, and only when all of its prose is there."""
    reading = _read(question)
    if reading.unread:
        unread = ", ".join(dict.fromkeys(reading.unread[:5]))
        return NoTask(f"words the checks do not read ({unread}) could ask for something else")
    question = reading.text
    for read in (_remainder_task, _gcd_lcm_task):
        task = read(question)
        if task is not None:
            return task
    parsed = _parse_fragments(_math_fragments(question))
    intents = {name for name, pattern in _INTENTS.items() if pattern.search(question)}
    if intents & {"derivative", "integral", "limit", "factor", "expand", "simplify"}:
        return _operation_task(question, parsed, intents)
    return _plain_task(question, parsed)


# ----------------------------------------------------------------------------- fragments
_FragmentKind = Literal["equation", "closed", "open", "definition", "other"]


@dataclass(frozen=True)
class _Fragment:
    text: str
    value: sympy.Basic
    kind: _FragmentKind
    variable: sympy.Symbol | None = None


def _parse_fragments(texts: list[str]) -> list[_Fragment]:
    fragments = []
    for text in texts:
        definition = _DEFINITION.match(text)
        math = degrees_as_radians(text) if _TRIG.search(text) else text
        try:
            if definition:
                value = parse_expression(definition.group(3))
                variable = sympy.Symbol(definition.group(2))
                fragments.append(_Fragment(text, value, "definition", variable))
                continue
            value = parse_expression(math)
        except ParseError:
            continue
        kind: _FragmentKind
        if isinstance(value, sympy.Equality):
            kind = "equation" if free_variables(value) else "other"
        elif isinstance(value, sympy.Expr):
            kind = "open" if free_variables(value) else "closed"
        else:
            kind = "other"
        fragments.append(_Fragment(text, value, kind))
    return fragments


def _numbers_outside(question: str, used: list[str]) -> bool:
    """A word problem mentions numbers outside the math it poses; then that math is not the
    whole question and its value is not the answer."""
    in_question = len(_DIGITS.findall(_PRECISION.sub(" ", _words_to_symbols(question))))
    return in_question > sum(len(_DIGITS.findall(text)) for text in used)


def _asks_for_derived(
    question: str, fragments: list[_Fragment], allowed: set[str] = _ASK_WORDS, also: str = ""
) -> bool:
    """`If 2x+3=7, what is 4x?` asks for something other than the unknowns themselves.
    `allowed` are the words that may stand around them, `also` text that may be dropped."""
    names = {str(v) for f in fragments for v in free_variables(f.value)}
    for match in _ASKS.finditer(question):
        target = match.group("target")
        for text in [*(f.text for f in fragments), *also.rstrip(".?,;").split("\n")]:
            target = target.replace(text, " ") if text else target
        target = re.sub(r"[$,:]|\\\(|\\\)", " ", target)
        leftover = [w for w in target.split() if w.lower() not in allowed and w not in names]
        if leftover:
            return True
    return False


# ----------------------------------------------------------------------------- plain math
def _plain_task(question: str, parsed: list[_Fragment]) -> Task | NoTask:
    equations = [f for f in parsed if f.kind == "equation"]
    closed = [f for f in parsed if f.kind == "closed"]
    opened = [f for f in parsed if f.kind == "open"]
    operators = [f for f in opened if _has_operator(f.value)]
    if len(operators) == 1 and not equations and len(opened) == 1:
        return _operator_task(operators[0], question)
    if equations:
        return _equation_task(question, parsed, equations, opened)
    if len(closed) == 1 and not opened:
        if _numbers_outside(question, [closed[0].text]) or not _asks_value_of(question, closed[0]):
            return NoTask("the question asks for more than the value of the expression in it")
        return Task("value", closed[0].text, closed[0].value)
    return NoTask("no single equation or expression to check found in the question")


def _asks_value_of(question: str, fragment: _Fragment) -> bool:
    """The expression is what is asked for: "Compute $…$." yes; "Find the units digit of $…$"
    or "the remainder of … divided by 12" no. Prose in other languages is not read, so only the
    sentence's English words can veto; a question without them (`17×23は?`) passes."""
    text = " ".join(_words_to_symbols(question).split())
    needle = " ".join(fragment.text.split())
    start = text.find(needle)
    return start >= 0 and _asked_directly(text, start, start + len(needle))


def _asked_directly(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] is itself what the sentence asks for (see `_ASKS_VALUE`)."""
    before = re.split(r"[.?!\n]\s", text[:start].replace("$", " ").replace("\\(", " "))[-1]
    after = text[end:].replace("$", " ").replace("\\)", " ")
    if not re.search(r"[A-Za-z]{2,}", before + after):
        return True
    return bool(_ASKS_VALUE.search(before.strip()) and _AFTER_VALUE.match(after))


def _has_operator(value: sympy.Basic) -> bool:
    return bool(
        value.atoms(sympy.Derivative, sympy.Integral, sympy.Limit, sympy.Sum, sympy.Product)
    )


def _operator_task(fragment: _Fragment, question: str) -> Task | NoTask:
    """A written-out derivative, integral, limit, sum or product with free variables."""
    value = fragment.value
    if _numbers_outside(question, [fragment.text]) or not _asks_value_of(question, fragment):
        return NoTask("the question asks for more than the value of the expression in it")
    if isinstance(value, sympy.Integral) and all(len(limits) == 1 for limits in value.limits):
        if len(value.limits) == 1:
            return Task("antiderivative", fragment.text, value.function, value.limits[0][0])
        return NoTask("a multiple indefinite integral (not checked)")
    return Task("expression", fragment.text, value)


def _equation_task(
    question: str, parsed: list[_Fragment], equations: list[_Fragment], opened: list[_Fragment]
) -> Task | NoTask:
    if opened or any(f.kind in ("definition", "other") for f in parsed):
        return NoTask("the question combines an equation with other expressions (not checked)")
    if _asks_for_derived(question, parsed):
        return NoTask("the question asks for a quantity derived from the unknowns")
    if _COUNTS.search(question):
        return NoTask("the question asks how many solutions, not for them")
    used = [f.text for f in equations]
    if _numbers_outside(question, used):
        return NoTask("the question has numbers outside its equations")
    variables = set().union(*(free_variables(f.value) for f in equations))
    real_only = bool(re.search(r"\breal\b", question, re.I))
    all_roots = not _SOME_ROOTS.search(question)
    if len(equations) == 1 and len(variables) == 1:
        eq = equations[0]
        return Task("roots", eq.text, eq.value, next(iter(variables)), real_only, all_roots)
    if len(equations) >= 2 and 2 <= len(variables) <= len(equations):
        system = sympy.Tuple(*(f.value for f in equations))
        return Task("system", "; ".join(used), system, None, real_only, all_roots)
    return NoTask("more unknowns than equations (not checked)")


# ----------------------------------------------------------------------------- prose operations
def _operation_task(question: str, parsed: list[_Fragment], intents: set[str]) -> Task | NoTask:
    """`Find the derivative of …`, `integrate … from 0 to 1`, `factor …`: one expression and
    what to do with it. A second candidate expression makes the question ambiguous."""
    subjects = [f for f in parsed if f.kind in ("open", "definition")]
    points = [f for f in parsed if f.kind == "equation" and _is_point(f.value)]
    if any(_has_operator(f.value) for f in subjects) and len(subjects) == 1 and not points:
        return _operator_task(subjects[0], question)
    where = "\n".join(
        m.group().rstrip(".?,; ")
        for m in (_BOUNDS.search(question), _LIMIT_POINT.search(question))
        if m
    )
    parsed = [
        f for f in parsed if not (f.kind == "closed" and f.text in where)
    ]  # `from $0$ to $1$`
    if _asks_for_derived(question, parsed, _ASK_WORDS | _OPERATION_WORDS, where):
        return NoTask("the question asks for something computed from the result")
    if len(subjects) != 1 or len(points) + len(subjects) != len(parsed):
        return NoTask("no single expression to operate on found in the question")
    subject = subjects[0]
    variable = _variable_of(subject, question)
    if variable is None:
        return NoTask("the variable of the operation is not clear")
    f = subject.value
    used = [subject.text] + [p.text for p in points]
    if "derivative" in intents and len(intents) == 1:
        order = next((n for w, n in _ORDER.items() if re.search(rf"\b{w}\b", question, re.I)), 1)
        derivative = sympy.Derivative(f, (variable, order))
        return _at_points(derivative, subject, points, variable, used, question)
    if "integral" in intents and len(intents) == 1:
        bounds = _BOUNDS.search(question)
        if bounds is None:
            if points or _numbers_outside(question, used):
                return NoTask("an integral with numbers outside the integrand (not checked)")
            return Task("antiderivative", subject.text, f, variable)
        try:
            lower, upper = (parse_expression(bounds.group(i)) for i in (1, 2))
        except ParseError:
            return NoTask("integration bounds not readable")
        if points or _numbers_outside(question, [*used, bounds.group()]):
            return NoTask("a definite integral with other numbers in the question (not checked)")
        source = f"the integral of {subject.text} from {bounds.group(1)} to {bounds.group(2)}"
        return Task("value", source, sympy.Integral(f, (variable, lower, upper)))
    if "limit" in intents and len(intents) == 1:
        point = _LIMIT_POINT.search(question)
        if point is None or points:
            return NoTask("the limit point is not clear")
        try:
            where = parse_expression(point.group(2))
        except ParseError:
            return NoTask("the limit point is not readable")
        if _numbers_outside(question, [*used, point.group()]):
            return NoTask("a limit with other numbers in the question (not checked)")
        # Two-sided, as the question says (SymPy's default is from the right): 1/x has none at 0.
        side = {sympy.oo: "-", -sympy.oo: "+"}.get(where, "+-")
        limit = sympy.Limit(f, sympy.Symbol(point.group(1)), where, side)
        kind: TaskKind = "value" if not free_variables(limit) else "expression"
        source = f"the limit of {subject.text} as {point.group(1)} → {point.group(2)}"
        return Task(kind, source, limit)
    rewrite = intents & {"factor", "expand", "simplify"}
    if len(rewrite) == 1 and len(intents) == 1 and not points:
        if _numbers_outside(question, used):
            return NoTask("the question has numbers outside the expression")
        (name,) = rewrite
        rewrites: dict[str, TaskKind] = {
            "factor": "factor",
            "expand": "expand",
            "simplify": "simplify",
        }
        return Task(rewrites[name], subject.text, f, variable)
    return NoTask("the operation asked for is not clear")


def _is_point(value: sympy.Basic) -> bool:
    """`x = 3`: where to evaluate a derivative."""
    return (
        isinstance(value, sympy.Equality)
        and isinstance(value.lhs, sympy.Symbol)
        and not free_variables(value.rhs)
    )


def _variable_of(subject: _Fragment, question: str) -> sympy.Symbol | None:
    stated = re.search(r"with\s+respect\s+to\s+\$?([a-z])\b", question, re.I)
    if stated:
        return sympy.Symbol(stated.group(1))
    if subject.variable is not None:
        return subject.variable
    variables = free_variables(subject.value)
    return next(iter(variables)) if len(variables) == 1 else None


def _at_points(
    derivative: sympy.Derivative,
    subject: _Fragment,
    points: list[_Fragment],
    variable: sympy.Symbol,
    used: list[str],
    question: str,
) -> Task | NoTask:
    if _numbers_outside(question, used):
        return NoTask("a derivative with other numbers in the question (not checked)")
    if not points:
        return Task("expression", subject.text, derivative)
    if len(points) == 1 and points[0].value.lhs == variable:
        at = sympy.Subs(derivative, variable, points[0].value.rhs)
        if not free_variables(at):
            return Task("value", f"the derivative of {subject.text} at {points[0].text}", at)
    return NoTask("a derivative at a point that is not clear")


# ----------------------------------------------------------------------------- number theory prose
def _remainder_task(question: str) -> Task | None:
    match = _REMAINDER.search(question)
    if match is None:
        return None
    try:
        a, m = parse_expression(match.group("a")), parse_expression(match.group("m"))
    except ParseError:
        return None
    if not (isinstance(a, sympy.Integer) and isinstance(m, sympy.Integer) and m != 0):
        return None
    if _numbers_outside(question, [match.group("a"), match.group("m")]):
        return None
    if not _asked_directly(question, match.start(), match.end()):
        return None
    return Task("value", match.group(), sympy.Mod(a, m))


def _gcd_lcm_task(question: str) -> Task | None:
    match = _GCD_LCM.search(question)
    if match is None or _numbers_outside(question, [match.group("numbers")]):
        return None
    if len(_GCD_LCM.findall(question)) > 1 or not _asked_directly(question, *match.span()):
        return None
    found = re.findall(r"\d{1,3}(?:,\d{3})+(?!\d)|\d+", match.group("numbers"))  # 9,009 is one
    numbers = [int(n.replace(",", "")) for n in found]
    if any(n.bit_length() > 1024 for n in numbers):
        return None
    is_gcd = re.search(r"common\s+(?:divisor|factor)|gcd|hcf", match.group("kind"), re.I)
    value = sympy.gcd(numbers) if is_gcd else sympy.lcm(numbers)
    return Task("value", match.group(), sympy.Integer(value))


# ----------------------------------------------------------------------------- text helpers
def _words_to_symbols(text: str) -> str:
    for pattern, symbol in _WORD_OPERATORS:
        text = re.sub(pattern, symbol, text, flags=re.IGNORECASE)
    return text


def _trim_punctuation(piece: str) -> str:
    """Sentence punctuation off the ends; a `!` after a number or bracket is a factorial."""
    piece = piece.strip().strip(".,;:?").strip()
    while piece.endswith("!") and not re.search(r"[\d)}]!+$", piece):
        piece = piece[:-1].rstrip().rstrip(".,;:?").rstrip()
    return piece.lstrip("!").strip()


def _split_prose(run: str) -> list[str]:
    pieces, last = [], 0
    for match in _PROSE_WORD.finditer(run):
        if match.group().lower() in _KNOWN_WORDS:
            continue
        pieces.append(run[last : match.start()])
        last = match.end()
    pieces.append(run[last:])
    return pieces
