"""Math text -> tokens: presentation stripped, nothing evaluated, no SymPy imported.

The first stage of `mathparse`. Answers arrive wrapped in dollars, \\boxed{}, units, unicode
operators and thousands separators; `normalize` removes what only changes how the math looks,
and `tokenize` cuts what is left into a short, closed set of token kinds, so the parser
(`mathgrammar`) never sees a character it was not written for. `ParseError` lives here because
this is the first place that refuses input; every later stage raises it too.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

__all__ = ["ParseError", "Token", "normalize", "tokenize", "GREEK", "MAX_INPUT_CHARS"]


class ParseError(ValueError):
    """The text is not math this parser accepts; the message says why in one line."""


MAX_INPUT_CHARS = 2000

GREEK = set(
    "alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu xi "
    "omicron rho sigma tau upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma "
    "Upsilon Phi Psi Omega".split()
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


class Token(NamedTuple):
    kind: str  # num, word, cmd (name without backslash), op, sep (`or`/`and`), end
    text: str


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
            out.append(f"\\{word} " if word in GREEK else ch)
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


def tokenize(s: str) -> list[Token]:
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
            toks.append(Token(kind, text))
    return toks
