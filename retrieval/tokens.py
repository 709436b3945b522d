"""The BM25 tokeniser: prose words, plus the pieces of formulas a person would search for.

A general-purpose tokeniser drops `^`, `_` and backslashes, so `a^2+b^2=c^2` becomes `a b c 2 2 2`
and `\\binom{n}{k}` becomes `binom n k` (or nothing, after stopwords). Here:

- `x^2`, `x^{2}`, `a_n`, `a_{n}`, `\\sin^2` are script tokens (`x^2`, `a_n`, `sin^2`): braces and
  spaces inside the script are dropped, so `x^{2}` and `x^2` match;
- a LaTeX command is a token with its backslash (`\\frac`, `\\binom`, `\\sqrt`, `\\int`), except
  function names and Greek letters, which become the bare word (`\\sin` is `sin`, `\\pi` is `pi`)
  so a prose query finds them; layout commands (`\\left`, `\\text`, `\\mathrm`, ...) are dropped;
- numbers are tokens (`3`, `6.022`); operators (`=`, `+`, `<`, ...) and brackets only separate
  tokens, so an equation contributes its `=`-free pieces and `a^2 + b^2` matches `a^2+b^2`;
- words are lower-cased with a light plural folding (`functions` matches `function`,
  `probabilities` matches `probability`); English stopwords are dropped in prose but not inside
  `$...$`, where a single letter is a variable.

Both the corpus and the query go through `tokenize`, so the rules only need to be consistent.
Changing them changes `TOKENIZER` (recorded in the manifest), which makes old indexes rebuild.
"""

from __future__ import annotations

import re

from verimath.retrieval.chunking import math_spans

__all__ = ["tokenize", "TOKENIZER"]

TOKENIZER = "formula-v1"

_WORD_COMMANDS = frozenset(
    "sin cos tan sec csc cot arcsin arccos arctan sinh cosh tanh coth log ln lg exp lim "
    "liminf limsup max min sup inf det gcd lcm deg dim ker arg mod bmod pmod hom "
    "alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu "
    "xi pi varpi rho varrho sigma varsigma tau upsilon phi varphi chi psi omega "
    "infty partial nabla".split()
)
_LAYOUT_COMMANDS = frozenset(
    "left right middle big bigg Big Bigg bigl bigr Bigl Bigr biggl biggr text textbf textit "
    "textrm mathrm mathbf mathit mathsf mathtt mathcal mathbb mathfrak boldsymbol operatorname "
    "displaystyle textstyle scriptstyle limits nolimits quad qquad mbox hbox rm bf it cal "
    "begin end label tag nonumber notag".split()
)
_STOPWORDS = frozenset(
    "a an and are as at be been being but by can do does for from had has have how i if in "
    "into is it its of on or our so such than that the their them then there these they this "
    "those to was we were what when where which while who why will with would you your".split()
)
_SCRIPT = re.compile(
    r"(?P<base>\\[A-Za-z]+|[A-Za-z0-9])[ \t]*(?P<op>[\^_])[ \t]*"
    r"(?P<arg>\{[^{}]*\}|\\[A-Za-z]+|[A-Za-z0-9])"
)
_TOKEN = re.compile(r"\\(?P<command>[A-Za-z]+)|(?P<number>\d+(?:\.\d+)?)|(?P<word>[^\W\d_]+)")


def tokenize(text: str) -> list[str]:
    """Tokens of `text` for BM25, in order; formulas inside `$...$` keep single letters."""
    tokens: list[str] = []
    position = 0
    for start, end in math_spans(text):
        tokens += _tokens(text[position:start], prose=True)
        tokens += _tokens(text[start:end], prose=False)
        position = end
    tokens += _tokens(text[position:], prose=True)
    return tokens


def _tokens(text: str, *, prose: bool) -> list[str]:
    tokens = [_script(m) for m in _SCRIPT.finditer(text)]
    for match in _TOKEN.finditer(text):
        if command := match["command"]:
            if command in _WORD_COMMANDS:
                tokens.append(command.lower())
            elif command not in _LAYOUT_COMMANDS:
                tokens.append("\\" + command)
        elif number := match["number"]:
            tokens.append(number)
        else:
            word = match["word"].lower()
            if prose and word in _STOPWORDS:
                continue
            tokens.append(_fold_plural(word) if prose else word)
    return tokens


def _script(match: re.Match[str]) -> str:
    base = match["base"]
    base = base[1:] if base[1:] in _WORD_COMMANDS else base
    argument = re.sub(r"[{}\s]", "", match["arg"])
    return f"{base}{match['op']}{argument}".lower()


def _fold_plural(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word
