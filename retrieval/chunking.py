"""Split long documents into passages without ever cutting a formula in half.

A chunk holds at most `MAX_CHARS` (900) characters. all-MiniLM-L6-v2 reads at most 256 word
pieces and truncates the rest; on the OpenStax corpus (prose with LaTeX) a word piece is about
3.4 characters, so 900 characters is about 260 pieces. Measured on 400 random OpenStax chunks:
with a 900 cap the mean chunk is 667 characters and 79% fit in 256 pieces; with 1,200 the mean is
893 and only 57% fit (the embedding would ignore the tail of the rest). Chunks are packed
greedily from the coarsest boundary that fits: paragraph, then sentence, then line, then word; a
piece that is too long on its own is split at the next finer level, and a Markdown or LaTeX
heading starts a new chunk. A chunk shorter than `MIN_CHARS` is merged into a neighbour when the
two fit together.

There is no overlap: every cut falls on a paragraph or sentence end, each chunk carries its
document's title and heading, and overlapping chunks would put near-duplicate passages into
the same top-k (wasting prompt slots and double-counting in rank fusion).

Math is atomic. `$...$`, `$$...$$`, `\\(...\\)`, `\\[...\\]` and the equation-like environments
(`equation`, `align`, `gather`, `multline`, `eqnarray`, `displaymath`, `math`, starred too) are
never cut; a single formula longer than `MAX_CHARS` becomes an oversized chunk of its own. An
inline span may not cross a blank line (TeX forbids it too), so a stray `$` (currency) cannot
swallow the rest of a document; an opener without its closer is read as plain text.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

__all__ = ["Chunk", "chunk_text", "math_spans", "MAX_CHARS", "MIN_CHARS"]

MAX_CHARS = 900
MIN_CHARS = 200

_ENVIRONMENTS = "equation|align|gather|multline|eqnarray|displaymath|math"
_OPENER = re.compile(
    r"(?<!\\)(?P<dd>\$\$)|(?<!\\)(?P<d>\$)|(?<!\\)(?P<paren>\\\()|(?<!\\)(?P<bracket>\\\[)"
    rf"|\\begin\{{(?P<env>(?:{_ENVIRONMENTS})\*?)\}}"
)
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
# Boundaries, coarsest first: the position right after the match is where a new chunk may start.
_LEVELS = (
    re.compile(r"\n[ \t]*\n\s*"),  # paragraph
    re.compile(r"[.!?][\"')\]]*[ \t\n]+(?=\S)"),  # sentence (abbreviations filtered below)
    re.compile(r"\n\s*"),  # line
    re.compile(r"[ \t]+"),  # word
)
_ABBREVIATIONS = {"e.g", "i.e", "etc", "vs", "cf", "fig", "eq", "eqs", "no", "dr", "mr", "approx"}
_HEADING = re.compile(
    r"^(?:#{1,6}[ \t]+(?P<md>[^\n]+?)[ \t#]*$"
    r"|[ \t]*\\(?:chapter|section|subsection|subsubsection)\*?\{(?P<tex>[^{}\n]*)\})",
    re.M,
)


@dataclass(frozen=True, slots=True)
class Chunk:
    """A piece of a document: `text == document[start:end]`, and the heading it falls under."""

    text: str
    start: int
    end: int
    heading: str = ""


def math_spans(text: str) -> list[tuple[int, int]]:
    """`(start, end)` of every formula, in order and disjoint; `text[start:end]` is the formula."""
    spans: list[tuple[int, int]] = []
    position = 0
    while match := _OPENER.search(text, position):
        end = _closing(text, match)
        if end is None:
            position = match.end()  # an opener without its closer is plain text
            continue
        spans.append((match.start(), end))
        position = end
    return spans


def _closing(text: str, opener: re.Match[str]) -> int | None:
    if opener["env"]:
        closer = re.compile(rf"\\end\{{{re.escape(opener['env'])}\}}")
        found = closer.search(text, opener.end())
        return found.end() if found else None
    if opener["dd"]:
        closer = re.compile(r"(?<!\\)\$\$")
    elif opener["d"]:
        closer = re.compile(r"(?<!\\)\$")
    elif opener["paren"]:
        closer = re.compile(r"\\\)")
    else:
        closer = re.compile(r"\\\]")
    blank = _BLANK_LINE.search(text, opener.end())  # inline and display math end before it
    found = closer.search(text, opener.end(), blank.start() if blank else len(text))
    return found.end() if found else None


def chunk_text(text: str, max_chars: int = MAX_CHARS, min_chars: int = MIN_CHARS) -> list[Chunk]:
    """Chunks that cover every non-blank character of `text` once, in order."""
    if max_chars < 1 or min_chars < 0:
        raise ValueError("max_chars must be at least 1 and min_chars at least 0")
    splitter = _Splitter(text, max_chars, min_chars)
    pieces = [_trim(text, s, e) for s, e in splitter.split(0, len(text), 0)]
    merged = splitter.merge_small([p for p in pieces if p[0] < p[1]])
    headings = [(m.start(), m["md"] or m["tex"] or "") for m in _HEADING.finditer(text)]
    heading_starts = [h for h, _ in headings]
    chunks = []
    for start, end in merged:
        i = bisect.bisect_right(heading_starts, start) - 1
        chunks.append(Chunk(text[start:end], start, end, headings[i][1].strip() if i >= 0 else ""))
    return chunks


class _Splitter:
    """The boundaries of one text, found once, and the recursive packing over them."""

    def __init__(self, text: str, max_chars: int, min_chars: int) -> None:
        self.text, self.max_chars, self.min_chars = text, max_chars, min_chars
        self.spans = math_spans(text)
        self.span_starts = [s for s, _ in self.spans]
        self.headings = {m.start() for m in _HEADING.finditer(text)}
        self.levels = [
            [
                m.end()
                for m in pattern.finditer(text)
                if not self.inside_math(m.end())
                and not (pattern is _LEVELS[1] and _abbreviation(text, m))
            ]
            for pattern in _LEVELS
        ]

    def inside_math(self, position: int) -> bool:
        i = bisect.bisect_right(self.span_starts, position - 1) - 1
        return i >= 0 and self.spans[i][0] < position < self.spans[i][1]

    def opens_section(self, start: int) -> bool:
        return _trim(self.text, start, len(self.text))[0] in self.headings

    def split(self, start: int, end: int, level: int) -> list[tuple[int, int]]:
        if end - start <= self.max_chars:
            return [(start, end)]
        if level == len(self.levels):
            return self.hard_cut(start, end)
        cuts = self.levels[level]
        lo, hi = bisect.bisect_right(cuts, start), bisect.bisect_left(cuts, end)
        bounds = [start, *cuts[lo:hi], end]
        out: list[tuple[int, int]] = []
        current: tuple[int, int] | None = None
        for s, e in zip(bounds, bounds[1:], strict=False):
            if e - s > self.max_chars:
                if current and current[1] - current[0] < self.min_chars:
                    s = current[0]  # a short lead-in (a heading) is split with what follows
                elif current:
                    out.append(current)
                current = None
                out.extend(self.split(s, e, level + 1))
            elif (
                current
                and e - current[0] <= self.max_chars
                and not (self.opens_section(s) and current[1] - current[0] >= self.min_chars)
            ):
                current = (current[0], e)
            else:
                out.extend([current] if current else [])
                current = (s, e)
        out.extend([current] if current else [])
        return out

    def hard_cut(self, start: int, end: int) -> list[tuple[int, int]]:
        """Last resort for a run without spaces (a URL, a blob): cut it, never inside math."""
        out = []
        while end - start > self.max_chars:
            cut = start + self.max_chars
            while cut < end and self.inside_math(cut):
                cut += 1  # the formula across the cut stays whole, at the end of this chunk
            out.append((start, cut))
            start = cut
        if start < end:
            out.append((start, end))
        return out

    def merge_small(self, pieces: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """Fold a chunk under `min_chars` into its neighbour; a heading only ever opens one."""
        merged: list[tuple[int, int]] = []
        for start, end in pieces:
            if merged:
                previous_small = merged[-1][1] - merged[-1][0] < self.min_chars
                small = end - start < self.min_chars and start not in self.headings
                if (small or previous_small) and end - merged[-1][0] <= self.max_chars:
                    merged[-1] = (merged[-1][0], end)
                    continue
            merged.append((start, end))
        out: list[tuple[int, int]] = []  # second pass: what could not go forward goes back
        for start, end in merged:
            if out and end - start < self.min_chars and end - out[-1][0] <= self.max_chars:
                out[-1] = (out[-1][0], end)
            else:
                out.append((start, end))
        return out


def _abbreviation(text: str, end_of_sentence: re.Match[str]) -> bool:
    """`e.g. x`, `Fig. 3`, `J. Smith`: a full stop that does not end a sentence."""
    word = text[max(0, end_of_sentence.start() - 6) : end_of_sentence.start()].split()
    last = word[-1] if word else ""
    return last.lower() in _ABBREVIATIONS or (len(last) == 1 and last.isupper())


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
