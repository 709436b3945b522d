"""Math text from a language model or a user -> SymPy objects, without running the text as code.

Why a hand-written parser: SymPy's own string entry points evaluate Python, and answers are
hostile input. Here a tokenizer and a recursive-descent parser build every object by calling
SymPy constructors from an explicit allow-list, and size limits are checked *before* SymPy is
asked to compute anything expensive (huge powers, factorials, binomials, digit strings).
"""

from __future__ import annotations

import math
import re
import sys
import unicodedata
from collections.abc import Callable
from typing import NamedTuple, TypeVar

import sympy
from sympy.logic.boolalg import Boolean

__all__ = [
    "ParseError", "normalize", "parse_expression", "parse_items", "expand_pm", "free_variables",
    "PM", "MAX_INPUT_CHARS", "MAX_DEPTH", "MAX_EXPONENT", "MAX_FACTORIAL", "MAX_DIGITS",
]  # fmt: skip


class ParseError(ValueError):
    """The text is not math this parser accepts; the message says why in one line."""


MAX_INPUT_CHARS = 2000
MAX_DEPTH = 100
MAX_EXPONENT = 10_000
# 5_000, not 1_000: answers such as 1/2004! must parse; 5000! has ~16k digits.
MAX_FACTORIAL = 5_000
MAX_DIGITS = 400
_MAX_BITS = 1 << 16  # no exact rational larger than this (~19.7k digits) is ever computed
# Roots and function arguments stay under ~300 digits: SymPy factors radicands and its
# assumption queries may run a primality test on any integer it meets (seconds when huge).
_MAX_ARG_BITS = 1024
_MAX_SET_TERMS = 16  # SymPy simplifies unions of intervals in roughly cubic time
_RECURSION_LIMIT = 5000  # MAX_DEPTH levels cost about 10 Python frames each

PM = sympy.Symbol("__pm__")  # marker: a ± b is built as a + PM*b; expand_pm substitutes ±1

_GREEK = set(
    "alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu xi "
    "omicron rho sigma tau upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma "
    "Upsilon Phi Psi Omega".split()
)
_FUNCS: dict[str, Callable[..., sympy.Expr]] = {
    "sin": sympy.sin, "cos": sympy.cos, "tan": sympy.tan, "sec": sympy.sec, "csc": sympy.csc,
    "cot": sympy.cot, "arcsin": sympy.asin, "arccos": sympy.acos, "arctan": sympy.atan,
    "sinh": sympy.sinh, "cosh": sympy.cosh, "tanh": sympy.tanh, "log": sympy.log,
    "ln": sympy.log, "exp": sympy.exp, "sqrt": sympy.sqrt, "abs": sympy.Abs,
}  # fmt: skip
_INVERSE = {"sin": sympy.asin, "cos": sympy.acos, "tan": sympy.atan,
            "sec": sympy.asec, "csc": sympy.acsc, "cot": sympy.acot}  # fmt: skip
_PREFIXES = sorted(_FUNCS, key=len, reverse=True)  # `sinx` -> sin(x)
# Short words that would otherwise become products of letters (`cm` -> c*m): refuse them.
_DENY = set(
    "or and is the of to if in on at as by be we it an so no not are for but all any yes let has "
    "its cm mm km kg mg ft deg rad max min gcd lcm mod det dim ker arg lim sum int sup inf def "
    "del try os sys nan".split()
)
_CMD_ALIASES = {
    "cdot": ("op", "*"), "times": ("op", "*"), "ast": ("op", "*"), "div": ("op", "/"),
    "le": ("op", "<="), "leq": ("op", "<="), "leqslant": ("op", "<="), "lt": ("op", "<"),
    "ge": ("op", ">="), "geq": ("op", ">="), "geqslant": ("op", ">="), "gt": ("op", ">"),
    "ne": ("op", "!="), "neq": ("op", "!="), "lvert": ("op", "|"), "rvert": ("op", "|"),
    "vert": ("op", "|"), "{": ("op", "\\{"), "}": ("op", "\\}"), "lbrace": ("op", "\\{"),
    "rbrace": ("op", "\\}"), "dfrac": ("cmd", "frac"), "tfrac": ("cmd", "frac"),
    "cfrac": ("cmd", "frac"), "dbinom": ("cmd", "binom"), "tbinom": ("cmd", "binom"),
}  # fmt: skip
_RELATIONS = {"=": sympy.Eq, "==": sympy.Eq, "<": sympy.Lt, ">": sympy.Gt, "<=": sympy.Le,
              ">=": sympy.Ge, "!=": sympy.Ne}  # fmt: skip
_UNICODE = {"−": "-", "–": "-", "—": "-", "×": "*", "·": "*", "⋅": "*", "÷": "/",
            "√": "\\sqrt ", "²": "^2", "³": "^3", "π": "\\pi ", "±": "\\pm ", "∓": "\\mp ",
            "≤": "\\le ", "≥": "\\ge ", "≠": "\\ne ", "∞": "\\infty ", "°": ""}  # fmt: skip

_TEXT_CMD = r"\\(?:text|textrm|textit|textbf|textnormal|mathrm|mathit|mathbf|mbox)\s*\{([^{}]*)\}"
_UNIT = re.compile(r"(?<=[0-9})])\s*" + _TEXT_CMD + r"(?:\s*\^\s*\{?\s*[0-9]\s*\}?)?")
_TOKEN = re.compile(
    r"(?P<ws>\s+)"
    r"|(?P<num>(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?:[eE][+-]?[0-9]+(?![A-Za-z0-9]))?)"
    r"|(?P<cmd>\\(?:[A-Za-z]+|[{}]))"
    r"|(?P<word>[A-Za-z]+)"
    r"|(?P<op>\*\*|<=|>=|!=|==|[-+*/^()\[\]{},;|!=<>_])",
    re.ASCII,
)
# `{ d } { dx }`, `{ d ^ 2 } { d x ^ 2 }`, `{ d ^ { 2 } } { dx ^ { 2 } }` as tokens joined by spaces
_DERIVATIVE_OPERATOR = re.compile(
    r"\{ d (?:\^ (?:\{ )?(?P<top>[1-9]) (?:\} )?)?\} "
    r"\{ d ?(?P<var>[a-z]) (?:\^ (?:\{ )?(?P<bottom>[1-9]) (?:\} )?)?\}(?= |$)"
)
_LEIBNIZ_QUOTIENT = re.compile(r"\{ d ?[a-z] \} \{ d ?[a-z] \}(?= |$)")
_NUMBER = re.compile(r"([0-9]*)(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]+))?", re.ASCII)


class _Tok(NamedTuple):
    kind: str  # num, word, cmd (name without backslash), op, sep (`or`/`and`), end
    text: str


_T = TypeVar("_T")
_SIGNS = {_Tok("op", "+"): sympy.Integer(1), _Tok("op", "-"): sympy.Integer(-1),
          _Tok("cmd", "pm"): PM, _Tok("cmd", "mp"): -PM}  # fmt: skip


# ----------------------------------------------------------------------------- normalisation
def normalize(text: str) -> str:
    r"""Strip presentation so that only math is left; never changes what the math means.

    Removes $…$, \( \), \[ \], the \boxed{…} wrapper, \displaystyle, \left/\right, spacing
    (\, \; \! \quad ~), \text/\mathrm-style units after a number (`5\text{ cm}` -> `5`, other
    \text{…} is unwrapped), degree marks, `%` after a number, one trailing period, thousands
    separators (`1,000,000` only when the whole text is that number; `1{,}000` anywhere), and
    maps unicode operators, ², ³, π, ±, ≤ ≥ ≠, ∞ and Greek letters to their LaTeX forms.
    Raises ParseError for non-strings, text over MAX_INPUT_CHARS and control characters.
    """
    if not isinstance(text, str):
        raise ParseError(f"expected text, got {type(text).__name__}")
    if len(text) > MAX_INPUT_CHARS:
        raise ParseError(f"input longer than {MAX_INPUT_CHARS} characters")
    out = []
    for ch in text:
        if ch in _UNICODE:
            out.append(_UNICODE[ch])
        elif ch.isspace():
            out.append(" ")
        elif unicodedata.category(ch)[0] == "C":
            raise ParseError(f"control character U+{ord(ch):04X} in input")
        else:
            name = re.fullmatch(r"GREEK (SMALL|CAPITAL) LETTER (\w+)", unicodedata.name(ch, ""))
            word = name.group(2).lower().replace("lamda", "lambda") if name else ""
            if name and name.group(1) == "CAPITAL":
                word = word.capitalize()
            out.append(f"\\{word} " if word in _GREEK else ch)
    s = "".join(out).replace("\\$", " ").replace("$", " ")
    s = re.sub(r"\\[()\[\]]", " ", s)
    while m := re.search(r"\\(?:boxed|fbox)\s*\{", s):
        depth, j = 1, m.end()
        while j < len(s) and depth:
            depth += {"{": 1, "}": -1}.get(s[j], 0)
            j += 1
        if depth:
            raise ParseError("unbalanced braces in \\boxed{...}")
        s = s[: m.start()] + " " + s[m.end() : j - 1] + " " + s[j:]
    if re.fullmatch(r"\s*-?[0-9]{1,3}(?:\\,[0-9]{3})+\s*", s):
        s = s.replace("\\,", "")
    s = re.sub(r"(?<=[0-9])\{,\}(?=[0-9]{3}(?![0-9]))", "", s)
    s = re.sub(r"\^\s*(?:\{\s*\\circ\s*\}|\\circ)|\\textdegree|\\degree", " ", s)
    s = re.sub(r"\\(?:displaystyle|textstyle|left\.|right\.|(?:left|right|[bB]igg?[lr]?)"
               r"(?![A-Za-z]))", " ", s)  # fmt: skip
    s = re.sub(r"\\(?:[,;:!> ]|q?quad(?![A-Za-z]))|~", " ", s)
    s = re.sub(r"\\(?:mathrm|operatorname|text|mathit)\s*\{\s*d\s*\}", " d ", s)  # \mathrm{d}x
    s = re.sub(r"\\(?:long)?[rR]ightarrow(?![A-Za-z])|->", r"\\to ", s)
    s = _UNIT.sub(_drop_unit, s)
    s = re.sub(_TEXT_CMD, r" \1 ", s)
    s = re.sub(r"\\operatorname\*?\s*\{([A-Za-z]+)\}", r" \1 ", s)
    s = re.sub(r"(?<=[0-9}])\s*\\?%", " ", s)
    s = " ".join(s.split())
    if s.endswith(".") and not s.endswith(".."):
        s = s[:-1].rstrip()
    if re.fullmatch(r"-?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?", s):
        s = s.replace(",", "")
    return s


def _drop_unit(m: re.Match[str]) -> str:
    """A unit word after a number goes; `or`, `and`, `e`, `i` and non-words are kept."""
    content = m.group(1).strip()
    if content in ("or", "and", "e", "i") or not re.fullmatch(r"[A-Za-z][A-Za-z ./-]*", content):
        return m.group(0)
    return " "


def _tokenize(s: str) -> list[_Tok]:
    toks, pos = [], 0
    while pos < len(s):
        m = _TOKEN.match(s, pos)
        if m is None:
            raise ParseError(f"unexpected character {s[pos]!r}")
        pos, kind, text = m.end(), m.lastgroup or "", m.group()
        if kind == "cmd":
            kind, text = _CMD_ALIASES.get(text[1:], ("cmd", text[1:]))
        elif kind == "word" and text in ("or", "and"):
            kind = "sep"
        if kind != "ws":
            toks.append(_Tok(kind, text))
    return toks


# ----------------------------------------------------------------------------- guarded building
def _expr(v: sympy.Basic) -> sympy.Expr:
    if not isinstance(v, sympy.Expr):
        raise ParseError(f"a {type(v).__name__} cannot be used in arithmetic")
    return v


def _bits(v: sympy.Expr) -> int:
    nums = [v] if isinstance(v, sympy.Rational) else v.atoms(sympy.Rational)
    return max((max(abs(n.p).bit_length(), n.q.bit_length()) for n in nums), default=0)


def _magnitude(v: sympy.Expr) -> float:
    """|v| as a float, inf when huge or unknown; used only to refuse expensive arguments."""
    if isinstance(v, sympy.Rational):
        return math.inf if abs(v.p) > 10**6 * v.q else abs(v.p) / v.q
    try:
        value = abs(complex(v.evalf(20)))
    except (TypeError, ValueError, OverflowError, ArithmeticError):
        return math.inf
    return value if math.isfinite(value) else math.inf


def _add(a: sympy.Basic, b: sympy.Basic, op: Callable[..., sympy.Expr] = sympy.Add) -> sympy.Expr:
    """a + b (or op(a, b)), refused when the exact result could exceed _MAX_BITS."""
    a, b = _expr(a), _expr(b)
    if _bits(a) + _bits(b) > _MAX_BITS:
        raise ParseError("number too large to check")
    return op(a, b)


def _mul(a: sympy.Basic, b: sympy.Basic) -> sympy.Expr:
    return _add(a, b, sympy.Mul)


def _pow(base: sympy.Basic, exp: sympy.Basic) -> sympy.Expr:
    """Refuse numeric exponents above MAX_EXPONENT (towers included) before SymPy computes."""
    base, exp = _expr(base), _expr(exp)
    if exp.is_number:
        size = _magnitude(exp)
        if size > MAX_EXPONENT:
            raise ParseError("exponent too large to check")
        if _bits(base) * max(1.0, size) > _MAX_BITS:
            raise ParseError("number too large to check")
        if not exp.is_Integer and _bits(base) > _MAX_ARG_BITS:
            raise ParseError("root of a number too large to check")
    return sympy.Pow(base, exp)


def _div(a: sympy.Basic, b: sympy.Basic) -> sympy.Expr:
    return _mul(a, _pow(b, sympy.Integer(-1)))


def _factorial(v: sympy.Basic) -> sympy.Expr:
    v = _expr(v)
    if v.is_number and _magnitude(v) > MAX_FACTORIAL:
        raise ParseError(f"factorial of a number above {MAX_FACTORIAL}")
    return sympy.factorial(v)


def _binomial(n: sympy.Basic, k: sympy.Basic) -> sympy.Expr:
    n, k = _expr(n), _expr(k)
    if isinstance(n, sympy.Integer) and isinstance(k, sympy.Integer):
        if min(abs(k), abs(n - k)) * max(_bits(n), _bits(k)) > _MAX_BITS:
            raise ParseError("binomial coefficient too large to check")
    elif k.is_number and _magnitude(k) > 20:  # SymPy multiplies out k symbolic factors
        raise ParseError("binomial coefficient too large to check")
    return sympy.binomial(n, k)


def _mod(a: sympy.Basic, m: sympy.Basic) -> sympy.Expr:
    a, m = _expr(a), _expr(m)
    if m == 0:
        raise ParseError("modulus 0")
    return sympy.Mod(a, m)


def _number(text: str) -> sympy.Expr:
    if len(text) > MAX_DIGITS:
        raise ParseError(f"number literal longer than {MAX_DIGITS} characters")
    m = _NUMBER.fullmatch(text)
    if m is None:
        raise ParseError(f"bad number {text!r}")
    whole, frac, exp = m.group(1), m.group(2) or "", m.group(3)
    value = sympy.Rational(int(whole + frac or "0"), 10 ** len(frac))
    if exp is not None:
        value = _mul(value, _pow(sympy.Integer(10), sympy.Integer(int(exp))))
    return value


def _as_set(v: sympy.Basic) -> sympy.Set:
    """Operand of \\cup / \\cap: a set, or (a, b) read as the open interval it must be here."""
    if isinstance(v, sympy.Tuple) and len(v) == 2:
        return sympy.Interval.open(_expr(v[0]), _expr(v[1]))
    if not isinstance(v, sympy.Set):
        raise ParseError("\\cup and \\cap need sets or intervals on both sides")
    return v


def _relation(op: str, a: sympy.Basic, b: sympy.Basic) -> sympy.Basic:
    cls = _RELATIONS[op]
    if cls in (sympy.Eq, sympy.Ne):
        if any(isinstance(v, Boolean) and not isinstance(v, sympy.Expr) for v in (a, b)):
            raise ParseError("a relation cannot be compared")
    else:
        a, b = _expr(a), _expr(b)
    return cls(a, b, evaluate=False)  # `x = x` stays an equation, never True


# ----------------------------------------------------------------------------- the parser
class _Parser:
    """Recursive descent, lowest precedence first:
    relation (= < > <= >= !=, chained) > set op (\\cup \\cap) > sum (+ - \\pm \\mp) >
    term (* / and implicit products) > unary (- + \\pm) > power (^ **, right-assoc) >
    postfix (!) > primary (number, name, command, bracket, |abs|)."""

    def __init__(self, toks: list[_Tok]) -> None:
        self.toks, self.pos, self.depth, self.in_abs = list(toks), 0, 0, 0

    def peek(self) -> _Tok:
        return self.toks[self.pos] if self.pos < len(self.toks) else _Tok("end", "")

    def take(self) -> _Tok:
        t = self.peek()
        self.pos += t.kind != "end"
        return t

    def at(self, *texts: str) -> bool:
        t = self.peek()
        return t.kind == "op" and t.text in texts

    def expect(self, text: str) -> None:
        if not self.at(text):
            raise ParseError(f"expected {text!r} but found {self.peek().text or 'the end'!r}")
        self.take()

    def nested(self, parse: Callable[..., _T], *args: object) -> _T:
        """Every bracket, argument, exponent and unary sign goes one level deeper."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ParseError(f"nesting deeper than {MAX_DEPTH}")
        value = parse(*args)
        self.depth -= 1
        return value

    def whole(self) -> sympy.Basic:
        value = self.relation()
        t = self.peek()
        if t.kind == "sep" or (t.kind == "op" and t.text in ",;"):
            raise ParseError(f"several items separated by {t.text!r}: use parse_items")
        if t.kind != "end":
            raise ParseError(f"unexpected {t.text!r}")
        return value

    def relation(self) -> sympy.Basic:
        left, parts = self.setexpr(), []
        while self.at(*_RELATIONS):
            op = self.take().text
            right = self.setexpr()
            parts.append(_relation(op, left, right))
            left = right
        if not parts:
            return left
        return parts[0] if len(parts) == 1 else sympy.And(*parts, evaluate=False)

    def setexpr(self) -> sympy.Basic:
        left, count = self.sum(), 0
        while self.peek() in (("cmd", "cup"), ("cmd", "cap")):
            op, right, count = self.take().text, self.sum(), count + 1
            if count >= _MAX_SET_TERMS:
                raise ParseError(f"more than {_MAX_SET_TERMS} sets in one union")
            left, right = _as_set(left), _as_set(right)
            left = sympy.Union(left, right) if op == "cup" else sympy.Intersection(left, right)
        return left

    def sum(self) -> sympy.Basic:
        left = self.term()
        while (sign := _SIGNS.get(self.peek())) is not None:
            self.take()
            left = _add(left, _mul(sign, self.term()))
        return left

    def term(self) -> sympy.Basic:
        left = self.unary()
        while True:
            t = self.peek()
            if t.kind == "op" and t.text in ("*", "/"):
                self.take()
                right = self.unary()
                left = _mul(left, right) if t.text == "*" else _div(left, right)
            elif t in (("cmd", "bmod"), ("cmd", "mod"), ("word", "mod")):
                self.take()
                left = _mod(left, self.unary())
            elif t == ("cmd", "pmod"):
                self.take()
                left = _mod(left, self.tex_arg())
            elif self.starts_factor(t):
                if t.kind == "num":
                    raise ParseError(f"missing operator before the number {t.text}")
                after_number = self.toks[self.pos - 1].kind == "num"
                right = self.power()
                if after_number and t == ("cmd", "frac") and right.is_Rational:
                    if not right.is_Integer:  # 2\frac{1}{2} is 2.5 to a reader, 1 to algebra
                        raise ParseError("ambiguous mixed number: write 2+\\frac{1}{2}")
                left = _mul(left, right)
            else:
                return left

    def starts_factor(self, t: _Tok) -> bool:
        """Whether `t` can begin an implicitly multiplied factor (`2x`, `2\\pi`, `(a)(b)`)."""
        if t.kind in ("num", "word"):
            return t.text != "mod"
        if t.kind == "cmd":
            return t.text not in ("pm", "mp", "cup", "cap", "bmod", "mod", "pmod", "to")
        return t.kind == "op" and (t.text in "([{" or (t.text == "|" and not self.in_abs))

    def unary(self) -> sympy.Basic:
        sign = _SIGNS.get(self.peek())
        if sign is None:
            return self.power()
        self.take()
        return _mul(sign, self.nested(self.unary))

    def power(self) -> sympy.Basic:
        base = self.postfix()
        if not self.at("^", "**"):
            return base
        self.take()
        return _pow(base, self.nested(self.unary))  # right-associative: 2^3^2 = 2^9

    def postfix(self) -> sympy.Basic:
        value = self.primary()
        while self.at("!"):
            self.take()
            value = _factorial(value)
        return value

    def group(self, closer: str, many: bool = False) -> list[sympy.Basic]:
        items = [self.nested(self.relation)]
        while many and self.at(","):
            self.take()
            items.append(self.nested(self.relation))
        if closer:
            self.expect(closer)
        return items

    def primary(self) -> sympy.Basic:
        t = self.take()
        if t.kind == "num":
            return _number(t.text)
        if t.kind == "word":
            return self.word(t.text)
        if t.kind == "cmd":
            return self.command(t.text)
        if t == ("op", "{"):
            return self.group("}")[0]
        if t == ("op", "\\{"):
            if self.at("\\}"):
                self.take()
                return sympy.EmptySet
            return sympy.FiniteSet(*self.group("\\}", many=True))
        if t == ("op", "|"):
            self.in_abs += 1
            value = self.group("|")[0]
            self.in_abs -= 1
            if _bits(_expr(value)) > _MAX_ARG_BITS:
                raise ParseError("argument of |...| too large to check")
            return sympy.Abs(value)
        if t.kind == "op" and t.text in "([":
            return self.bracket(t.text)
        raise ParseError(f"unexpected {t.text or 'end of input'!r}")

    def bracket(self, opener: str) -> sympy.Basic:
        """(a) group, (a, b) Tuple, [a, b] / [a, b) / (a, b] Interval, (a, b, c) Tuple."""
        items = self.group("", many=True)
        closer = self.take().text
        if closer not in (")", "]"):
            raise ParseError(f"expected ')' or ']' but found {closer or 'the end'!r}")
        matched = (opener == "(") == (closer == ")")
        if len(items) == 2 and (opener == "[" or not matched):
            return sympy.Interval(_expr(items[0]), _expr(items[1]), opener == "(", closer == ")")
        if not matched:
            raise ParseError(f"mismatched brackets {opener} … {closer}")
        return items[0] if len(items) == 1 else sympy.Tuple(*items)

    def identifier(self, name: str, constants: bool) -> sympy.Expr:
        """A letter or Greek name, with an optional subscript (`x_1`, `a_{n+1}`)."""
        if self.at("_"):
            self.take()
            t, parts = self.take(), []
            if t.kind in ("num", "word"):
                parts = [t.text]
            elif t == ("op", "{"):
                while (u := self.take()) != ("op", "}"):
                    if u.kind not in ("num", "word") and u not in (("op", "+"), ("op", "-")):
                        raise ParseError(f"unsupported subscript on {name}")
                    parts.append(u.text)
            if not parts:
                raise ParseError(f"unsupported subscript on {name}")
            return sympy.Symbol(f"{name}_{''.join(parts)}")
        if constants and name in ("i", "e"):
            return sympy.I if name == "i" else sympy.E
        return sympy.Symbol(name)

    def word(self, w: str) -> sympy.Basic:
        if len(w) == 1:
            return self.identifier(w, constants=True)
        if w in _FUNCS:
            return self.apply(w)
        if w == "pi":
            return sympy.pi
        if w in ("oo", "infinity"):
            return sympy.oo
        if w in ("gcd", "lcm") and self.at("("):
            return self.gcd_lcm(w)
        if w == "lim" and self.at("_"):
            return self.limit()
        if w.lower() not in _DENY:
            for f in _PREFIXES:
                if w.startswith(f) and len(w) == len(f) + 1:
                    self.toks.insert(self.pos, _Tok("word", w[-1]))
                    return self.apply(f)
            if len(w) <= 3:  # `xy`, `xe^x`: a product of letters, a power binds the last
                self.toks[self.pos : self.pos] = [_Tok("word", c) for c in w[1:]]
                return self.identifier(w[0], constants=True)
        raise ParseError(f"unknown word {w!r}")

    def tex_arg(self) -> sympy.Basic:
        """A LaTeX argument: `{...}` or one character (`\\frac12`, `\\sqrt2`) or one atom."""
        t = self.peek()
        if t.kind in ("num", "word") and len(t.text) > 1 and t.text.isalnum():
            self.toks[self.pos] = _Tok(t.kind, t.text[1:])
            ch = t.text[0]
            return sympy.Integer(int(ch)) if ch.isdigit() else self.identifier(ch, True)
        return self.primary() if t == ("op", "{") else self.nested(self.primary)

    def command(self, name: str) -> sympy.Basic:
        if name == "frac":
            operator = self.derivative_operator()
            if operator is not None:
                variable, order = operator
                return sympy.Derivative(_expr(self.nested(self.term)), (variable, order))
            return _div(self.tex_arg(), self.tex_arg())
        if name == "int":
            return self.integral()
        if name == "lim":
            return self.limit()
        if name in ("sum", "prod"):
            return self.big_operator(name)
        if name in ("gcd", "lcm"):
            return self.gcd_lcm(name)
        if name == "binom":
            return _binomial(self.tex_arg(), self.tex_arg())
        if name == "sqrt":
            if self.at("["):
                self.take()
                index = self.group("]")[0]
                return _pow(self.tex_arg(), _div(sympy.Integer(1), index))
            return _pow(self.tex_arg(), sympy.Rational(1, 2))
        if name == "pi":
            return sympy.pi
        if name == "infty":
            return sympy.oo
        if name in ("emptyset", "varnothing"):
            return sympy.EmptySet
        if name in _GREEK:
            return self.identifier(name, constants=False)
        if name in _FUNCS:
            return self.apply(name)
        raise ParseError(f"unsupported command \\{name}")

    def apply(self, name: str) -> sympy.Expr:
        """`\\sin x`, `sin(x)`, `\\sin^2 x` (= sin(x)^2), `\\sin^{-1} x` (= asin x),
        `\\log_2 8`, `log(8, 2)`; an unbracketed argument runs over an implicit product."""
        base = power = None
        if name == "log" and self.at("_"):
            self.take()
            base = self.tex_arg()
        if self.at("^", "**"):
            self.take()
            power = self.tex_arg()
        if self.at("("):
            self.take()
            args = self.group(")", many=True)
            if len(args) == 2 and name == "log" and base is None:
                base = args.pop()
            if len(args) != 1:
                raise ParseError(f"{name} takes one argument")
            arg = _expr(args[0])
        else:
            arg = self.operand(through_roots=name in ("log", "ln"))
        if _bits(arg) > _MAX_ARG_BITS or (base is not None and _bits(_expr(base)) > _MAX_ARG_BITS):
            raise ParseError(f"argument of {name} too large to check")
        if power is not None and name in _INVERSE and power == -1:
            return _INVERSE[name](arg)
        value = _FUNCS[name](arg) if base is None else sympy.log(arg, _expr(base))
        return value if power is None else _pow(value, power)

    def operand(self, through_roots: bool = False) -> sympy.Expr:
        """`\\sin 2x` = sin(2x): the product runs until an operator, number or function.
        A logarithm's runs through roots too: `\\log_3 27\\sqrt3` is log_3(27√3)."""
        if self.at("-"):
            self.take()
            return _mul(sympy.Integer(-1), self.nested(self.operand, through_roots))
        value = self.nested(self.power)
        while (t := self.peek()).kind != "num" and self.starts_factor(t):
            if t.text in _FUNCS and not (through_roots and t.text == "sqrt"):
                break
            value = _mul(value, self.nested(self.power))
        return _expr(value)

    # -------------------------------------------------------------- calculus and number theory
    # These build *unevaluated* SymPy objects (Derivative, Integral, Limit, Sum, Product):
    # computing them is the checker's job, inside the sandbox and under its timeout.
    def derivative_operator(self) -> tuple[sympy.Symbol, int] | None:
        """`\\frac{d}{dx}` or `\\frac{d^2}{dx^2}` at the cursor: consumed, (x, order) returned."""
        window = " ".join(t.text for t in self.toks[self.pos : self.pos + 16])
        match = _DERIVATIVE_OPERATOR.match(window)
        if match is None:
            if _LEIBNIZ_QUOTIENT.match(window):  # dy/dx is notation, not y/x
                raise ParseError("dy/dx notation: write the derivative as \\frac{d}{dx}(...)")
            return None
        self.pos += len(match.group().split())
        top, bottom = match.group("top") or "1", match.group("bottom") or "1"
        if top != bottom:
            raise ParseError(
                f"derivative orders differ: d^{top} over d{match.group('var')}^{bottom}"
            )
        return sympy.Symbol(match.group("var")), int(top)

    def bound_variable(self) -> sympy.Symbol:
        t = self.take()
        if t.kind == "cmd" and t.text in _GREEK:
            return sympy.Symbol(t.text)
        if t.kind != "word" or len(t.text) != 1:
            raise ParseError(f"expected a variable but found {t.text or 'the end'!r}")
        return sympy.Symbol(t.text)

    def integral(self) -> sympy.Expr:
        """`\\int f(x)\\,dx` or `\\int_a^b f(x)\\,dx`: the integrand runs to the differential."""
        lower = upper = None
        for _ in range(2):
            if self.at("_"):
                self.take()
                lower = _expr(self.tex_arg())
            elif self.at("^"):
                self.take()
                upper = _expr(self.tex_arg())
        if (lower is None) != (upper is None):
            raise ParseError("a definite integral needs both limits")
        depth, inner, end = 0, 0, None  # an inner \\int owns the next differential
        for j in range(self.pos, len(self.toks)):
            t = self.toks[j]
            if t.kind == "op":
                depth += (t.text in ("(", "[", "{", "\\{")) - (t.text in (")", "]", "}", "\\}"))
            elif t == ("cmd", "int"):
                inner += 1
            elif t.kind == "word" and re.fullmatch("d[a-z]?", t.text) and depth == 0:
                if not inner:
                    end = j
                    break
                inner -= 1
        if end is None:
            raise ParseError("integral without a differential such as dx")
        integrand = self.sub_expression(self.toks[self.pos : end])
        self.pos = end + 1
        variable = self.toks[end].text[1:]
        if not variable:
            variable = self.bound_variable().name
        x = sympy.Symbol(variable)
        limits = (x,) if lower is None else (x, lower, upper)
        return sympy.Integral(integrand, limits)

    def sub_expression(self, toks: list[_Tok]) -> sympy.Expr:
        if not toks:
            raise ParseError("empty integrand")
        inner = _Parser(toks)
        inner.depth = self.depth + 1
        if inner.depth > MAX_DEPTH:
            raise ParseError(f"nesting deeper than {MAX_DEPTH}")
        return _expr(inner.whole())

    def limit(self) -> sympy.Expr:
        """`\\lim_{x \\to a} f`, `a` may be `\\infty` or carry a side: `0^+`, `0^{-}`."""
        self.expect("_")
        self.expect("{")
        variable = self.bound_variable()
        if self.take() != ("cmd", "to"):
            raise ParseError("expected \\to in the limit")
        depth, end = 0, None
        for j in range(self.pos, len(self.toks)):
            t = self.toks[j]
            if t.kind == "op" and t.text in ("(", "[", "{", "\\{"):
                depth += 1
            elif t.kind == "op" and t.text in (")", "]", "}", "\\}"):
                if depth == 0:
                    end = j
                    break
                depth -= 1
        if end is None or self.toks[end].text != "}":
            raise ParseError("unclosed limit subscript")
        target, side = list(self.toks[self.pos : end]), "+-"
        texts = [t.text for t in target]
        if texts[-2:] in (["^", "+"], ["^", "-"]):
            side, target = texts[-1], target[:-2]
        elif texts[-4:] in (["^", "{", "+", "}"], ["^", "{", "-", "}"]):
            side, target = texts[-2], target[:-4]
        point = self.sub_expression(target)
        self.pos = end + 1
        body = self.nested(self.term)
        if point in (sympy.oo, -sympy.oo):
            side = "+" if point == sympy.oo else "-"
        return sympy.Limit(_expr(body), variable, point, side)

    def big_operator(self, name: str) -> sympy.Expr:
        """`\\sum_{k=1}^{n} f(k)` and `\\prod`; the body is the following term."""
        self.expect("_")
        self.expect("{")
        variable = self.bound_variable()
        self.expect("=")
        lower = _expr(self.nested(self.sum))
        self.expect("}")
        self.expect("^")
        upper = _expr(self.tex_arg())
        body = _expr(self.nested(self.term))
        build = sympy.Sum if name == "sum" else sympy.Product
        return build(body, (variable, lower, upper))

    def gcd_lcm(self, name: str) -> sympy.Expr:
        self.expect("(")
        args = [_expr(a) for a in self.group(")", many=True)]
        if len(args) < 2 or not all(a.is_Integer for a in args):
            raise ParseError(f"{name} needs two or more integers")
        if any(_bits(a) > _MAX_ARG_BITS for a in args):
            raise ParseError(f"arguments of {name} too large to check")
        combine = sympy.gcd if name == "gcd" else sympy.lcm
        value = args[0]
        for a in args[1:]:
            value = combine(value, a)
        return sympy.Integer(value)


# ----------------------------------------------------------------------------- public API
def _guarded(build: Callable[[], list[sympy.Basic]]) -> list[sympy.Basic]:
    """Run the parser so that only ParseError escapes, with stack room for MAX_DEPTH levels."""
    old = sys.getrecursionlimit()
    if old < _RECURSION_LIMIT:
        sys.setrecursionlimit(_RECURSION_LIMIT)
    try:
        return build()
    except ParseError:
        raise
    except RecursionError:
        raise ParseError("expression nested too deeply") from None
    except Exception as exc:  # SymPy refusing a construction (Interval(1, i)) is a parse error
        detail = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else ""
        raise ParseError(f"cannot build this expression: {type(exc).__name__} {detail}") from exc
    finally:
        if old < _RECURSION_LIMIT:
            sys.setrecursionlimit(old)


def parse_expression(text: str) -> sympy.Basic:
    """One expression or one relation (=, <, >, \\le, \\ge, \\ne, <=, >=, !=).

    Returns an Expr, a Relational (Eq/Lt/... built unevaluated), an And for chained relations,
    or a Tuple / Interval / FiniteSet / Union for bracketed text. Raises ParseError."""

    def build() -> list[sympy.Basic]:
        toks = _tokenize(normalize(text))
        if not toks:
            raise ParseError("empty input")
        return [_Parser(toks).whole()]

    return _guarded(build)[0]


def parse_items(text: str) -> list[sympy.Basic]:
    """Top-level items split at `,` `;` `or` `and` (outside brackets), each parsed like
    parse_expression. A bracketed (3, \\pi/2) or \\{1, 2\\} stays one Tuple/FiniteSet item."""

    def build() -> list[sympy.Basic]:
        groups: list[list[_Tok]] = [[]]
        depth = 0
        for t in _tokenize(normalize(text)):
            if t.kind == "op":
                depth += (t.text in ("(", "[", "{", "\\{")) - (t.text in (")", "]", "}", "\\}"))
            if depth == 0 and (t.kind == "sep" or (t.kind == "op" and t.text in ",;")):
                groups.append([])
            else:
                groups[-1].append(t)
        items = [_Parser(g).whole() for g in groups if g]
        if not items:
            raise ParseError("empty input")
        return items

    return _guarded(build)


def _substitute_pm(expr: sympy.Basic, sign: int) -> sympy.Basic:
    if isinstance(expr, sympy.core.relational.Relational):  # keep relations unevaluated
        lhs, rhs = _substitute_pm(expr.lhs, sign), _substitute_pm(expr.rhs, sign)
        return expr.func(lhs, rhs, evaluate=False)
    if isinstance(expr, sympy.And):
        return sympy.And(*(_substitute_pm(a, sign) for a in expr.args), evaluate=False)
    if isinstance(expr, sympy.Tuple):
        return sympy.Tuple(*(_substitute_pm(a, sign) for a in expr.args))
    return expr.subs(PM, sign)


def expand_pm(expr: sympy.Basic) -> list[sympy.Basic]:
    """Expressions containing the ± marker become two (with +, then -); others a one-item list.
    Every ± and ∓ in one expression share one sign, as in `a \\pm b \\mp c`."""
    if PM not in expr.free_symbols:
        return [expr]
    try:
        return [_substitute_pm(expr, 1), _substitute_pm(expr, -1)]
    except Exception as exc:  # e.g. an interval whose ends become incomparable
        raise ParseError(f"cannot expand ±: {type(exc).__name__}") from exc


def free_variables(expr: sympy.Basic) -> set[sympy.Symbol]:
    """Free symbols excluding the ± marker: what a caller must solve for or substitute."""
    return {s for s in expr.free_symbols if isinstance(s, sympy.Symbol) and s != PM}
