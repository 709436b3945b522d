"""Multiple-choice answers: which choice an answer picks, and whether it is the gold one.

The one grader for choice letters. Question files with a `choices` list (MMLU) are graded by
`grade_choice` with the choice texts; `equivalent` (tools/equivalence.py) grades a gold that is
a bare letter by the same function, without texts, so both say the same of a letter answer.
Pure text matching on plain `re`: nothing is parsed as mathematics, no SymPy is imported.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence

__all__ = ["grade_choice", "picked_choice", "folded", "LETTERS", "UNLISTED_CHOICES"]

LETTERS = string.ascii_uppercase
UNLISTED_CHOICES = 5  # a letter gold without its choices (`equivalent`): A to E

_WRAPPER = re.compile(r"^\\(?:text|textbf|textit|textrm|mathrm|mathbf|boxed)\s*\{([^{}]*)\}$")
_LETTER_FORM = re.compile(
    r"^(?:(?:option|choice|answer)\s*:?\s*)?"
    r"(?:\((?P<p>[A-Z])\)|(?P<letter>[A-Z])(?:[).:]|(?=\s*$)))(?:\s+(?P<rest>.*))?$",
    re.DOTALL | re.IGNORECASE,
)


def grade_choice(gold: str, answer: str, choices: Sequence[str] | None = None) -> bool:
    """Whether `answer` picks the gold letter of a multiple-choice question: the letter as
    `B`, `(B)`, `B)`, `\\text{B}`, `B: text`, `option B` (capitals only: `b` may be a variable),
    or the gold choice's exact text (case and spacing aside).
    Another letter, another choice's text, or a letter whose text names another choice is
    wrong. Without `choices` the letters are A to E and only a letter can be right.
    Pure text matching: nothing is parsed as mathematics."""
    count = UNLISTED_CHOICES if choices is None else len(choices)
    gold_letter = picked_choice(gold, count)
    if gold_letter is None:
        raise ValueError(
            f"gold answer '{gold}' is not a choice letter A-{LETTERS[count - 1]}; "
            "give multiple-choice rows a letter as their answer"
        )
    gold_index = gold_letter[0]
    letter = picked_choice(answer, count)
    if letter is None:
        return choices is not None and folded(answer) == folded(choices[gold_index])
    index, rest = letter
    named = [i for i, choice in enumerate(choices or ()) if folded(choice) == folded(rest)]
    return index == gold_index and (not rest or not named or gold_index in named)


def picked_choice(text: str, count: int = len(LETTERS)) -> tuple[int, str] | None:
    """The index of the choice that a letter form names (one of the first `count` letters),
    and any text after the letter; None when `text` names no letter."""
    found = _LETTER_FORM.match(_plain(text))
    if found is None:
        return None
    letter = found["p"] or found["letter"]
    if letter not in LETTERS[:count]:
        return None
    return LETTERS.index(letter), (found["rest"] or "").strip()


def folded(text: str) -> str:
    """A choice's text as it is compared: plain, spacing collapsed, case folded."""
    return " ".join(_plain(text).split()).casefold()


def _plain(text: str) -> str:
    """Without surrounding math delimiters, text wrappers and a closing full stop."""
    previous = None
    text = text.strip()
    while text != previous:
        previous = text
        text = text.strip().removesuffix(".").strip()
        if len(text) > 1 and text[0] == text[-1] == "$":
            text = text.strip("$")
        if text.startswith("\\(") and text.endswith("\\)"):
            text = text[2:-2]
        text = _WRAPPER.sub(r"\1", text)
    return text
