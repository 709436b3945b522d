"""Passages are data: find and neutralise text in them that reads like instructions to a model.

A user corpus (a PDF off the web, a scraped page) can carry prompt injections: "ignore previous
instructions", chat-template role tags, a fake `system:` line, or our own `</passage>` delimiter
to break out of the quoting in `graphs.prompts`. `screen_text` replaces each such span with a
short marker and says which kinds it found; `Index.build` applies it to every passage and records
the kinds in `Passage.flags`. The patterns are deliberately narrow: math textbooks say "we can
disregard the negative root" and "you are now ready to...", which must pass untouched (checked
on the 702 OpenStax sections and the 7,500 MATH solutions in the tests). This is a first screen,
not a guarantee; the prompt still tells the model that passages are data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from verimath.retrieval.passage import Passage

__all__ = ["Screened", "screen_text", "screen_passage", "MARKER"]

MARKER = "[instruction-like text removed]"

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "override",
        re.compile(
            r"\b(?:ignore|disregard|forget|override)\s+(?:all\s+|any\s+)?(?:of\s+)?(?:the\s+|your\s+|my\s+)?"
            r"(?:previous|prior|above|earlier|preceding|system|original)\s+"
            r"(?:instructions?|prompts?|directions?|rules|messages?|guidelines|context)\b",
            re.I,
        ),
    ),
    (
        "role-change",
        re.compile(
            r"\b(?:you\s+are\s+now\s+(?:a|an|the|in|my|acting|no\s+longer)\b"
            r"|from\s+now\s+on,?\s+you\s+(?:are|will|must|should)\b"
            r"|new\s+instructions?\s*:)",
            re.I,
        ),
    ),
    (
        "role-tag",
        re.compile(
            r"<\|(?:system|user|assistant|im_start|im_end|im_sep|endoftext|end|begin_of_text"
            r"|start_header_id|end_header_id|eot_id|eom_id|tool|ipython|fim_\w+)\|>"
            r"|\[/?INST\]|<</?SYS>>|<(?:start|end)_of_turn>|</?s>",
            re.I,
        ),
    ),
    (
        "role-line",
        re.compile(r"^[ \t>#*]*(?:system|developer)[ \t]*:", re.I | re.M),
    ),
    (
        "delimiter",
        re.compile(
            r"</?(?:passage|system|instructions?|prompt|think)\b[^>]*>"
            r"|^[ \t]*#{2,}[ \t]*(?:instruction|system|response)s?[ \t]*:",  # Alpaca-style
            re.I | re.M,
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class Screened:
    text: str
    flags: tuple[str, ...] = ()


def screen_text(text: str) -> Screened:
    """`text` with every instruction-like span replaced by `MARKER`, and the kinds found."""
    flags = []
    for name, pattern in _PATTERNS:
        text, count = pattern.subn(MARKER, text)
        if count:
            flags.append(name)
    return Screened(text, tuple(flags))


def screen_passage(passage: Passage) -> Passage:
    """The passage with its text and title screened and the kinds found added to `flags`."""
    text, title = screen_text(passage.text), screen_text(passage.title)
    found = tuple(dict.fromkeys((*passage.flags, *text.flags, *title.flags)))
    if found == passage.flags and text.text == passage.text and title.text == passage.title:
        return passage
    return replace(passage, text=text.text, title=title.text, flags=found)
