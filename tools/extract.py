"""Find the final answer a model stated, without mistaking its reasoning for it.

Pure string work (no SymPy), so the generation layer can call it in-process.
"""

from __future__ import annotations

import re

__all__ = ["extract_final_answer", "find_boxed"]

_BOX_COMMANDS = ("\\boxed", "\\fbox")
_PHRASES = re.compile(
    r"(?:final answer(?: is)?|the answer is|answer\s*:|answer is)\s*[:=]?\s*(?P<ans>[^\n]+)",
    re.IGNORECASE,
)


def find_boxed(text: str) -> str | None:
    """Content of the last `\\boxed{...}` or `\\fbox{...}`, nested braces included.

    An unclosed box (generation cut off inside it) counts as no box.
    """
    best: tuple[int, str] | None = None
    for command in _BOX_COMMANDS:
        start = text.rfind(command + "{")
        while start != -1:
            content = _balanced(text, start + len(command))
            if content is not None:
                if best is None or start > best[0]:
                    best = (start, content)
                break
            start = text.rfind(command + "{", 0, start)
    return best[1].strip() if best else None


def _balanced(text: str, open_at: int) -> str | None:
    depth = 0
    for i in range(open_at, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[open_at + 1 : i]
    return None


def extract_final_answer(text: str) -> str | None:
    """The answer the text commits to, or None when it states none.

    Order: the last boxed answer; then the last "final answer is …" / "answer: …" phrase.
    None is a real outcome: the caller then asks the model for a final answer explicitly.
    """
    boxed = find_boxed(text)
    if boxed:
        return boxed
    matches = list(_PHRASES.finditer(text))
    if not matches:
        return None
    answer = matches[-1].group("ans").strip()
    answer = answer.strip("*").strip().removesuffix(".").strip().strip("$").strip()
    return answer or None
