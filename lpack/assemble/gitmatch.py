"""gitignore lines compiled as git reads them: each line a full-match regex and a dir-only
flag; the last line that matches a path decides. (pathspec ranks a negated folder-only line
below a file line and lets `dir/**` match `dir` itself, so a whitelist .gitignore lost every
subpackage.)"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CLASSES = {
    "alnum": "a-zA-Z0-9",
    "alpha": "a-zA-Z",
    "blank": " \\t",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@\\[-`{-~",
    "space": " \\t\\n\\r\\f\\v",
    "upper": "A-Z",
    "xdigit": "0-9A-Fa-f",
}


class BadPattern(ValueError):
    """A line git accepts but that matches nothing (`[z-a]`, `foo\\`, `[abc`)."""


@dataclass(frozen=True)
class Line:
    regex: re.Pattern[str]
    negated: bool
    dir_only: bool
    text: str  # the line as written, for messages


def compile_line(text: str) -> Line | None:
    """The line as git reads it; None for blanks and comments. BadPattern: a line that can
    match nothing, which git skips too."""
    text = written = text.rstrip("\r")
    if not text or text.startswith("#"):
        return None
    text = _strip_trailing_spaces(text)
    negated = text.startswith("!")
    if negated:
        text = text[1:]
    dir_only = text.endswith("/")
    text = text.rstrip("/") if dir_only else text
    if not text:
        return None  # a lone `!` or `/`: git matches nothing with it
    anchored = "/" in text
    text = text.lstrip("/") if anchored else text
    body = _translate(text)
    regex = body if anchored else f"(?:.*/)?{body}"
    try:
        return Line(re.compile(regex + r"\Z", re.DOTALL), negated, dir_only, written.strip())
    except re.error as exc:  # an empty or reversed range
        raise BadPattern(str(exc)) from None


def _strip_trailing_spaces(text: str) -> str:
    while text.endswith(" ") and not text.endswith("\\ "):
        text = text[:-1]
    return text


def _translate(pattern: str) -> str:
    """wildmatch with WM_PATHNAME: `*` `?` `[...]` stay in one segment; `**` spans them only
    as a whole segment (`**/x`, `x/**`, `x/**/y`), elsewhere it is a `*`."""
    out: list[str] = []
    segments = pattern.split("/")
    last = len(segments) - 1
    for i, seg in enumerate(segments):
        if seg == "**":
            if i == last:
                out.append(".+" if i else ".*")  # `x/**`: everything inside, not x itself
            else:
                out.append("(?:.*/)?")
            continue
        out.append(_segment(seg))
        if i != last:
            out.append("/")
    return "".join(out)


def _segment(seg: str) -> str:
    out: list[str] = []
    i, n = 0, len(seg)
    while i < n:
        c = seg[i]
        if c == "\\":
            if i + 1 >= n:
                raise BadPattern("trailing backslash")
            out.append(re.escape(seg[i + 1]))
            i += 2
        elif c == "*":
            while i < n and seg[i] == "*":
                i += 1
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            cls, i = _bracket(seg, i + 1)
            out.append(cls)
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


def _bracket(seg: str, i: int) -> tuple[str, int]:
    """A `[...]` class from just after `[`: the regex and the index after `]`."""
    n = len(seg)
    negate = i < n and seg[i] in "!^"
    i += negate
    parts: list[str] = []
    first = True
    while i < n and (first or seg[i] != "]"):
        first = False
        if seg.startswith("[:", i):
            end = seg.find(":]", i + 2)
            name = seg[i + 2 : end] if end != -1 else ""
            if name not in _CLASSES:
                raise BadPattern(f"unknown class [:{name}:]")
            parts.append(_CLASSES[name])
            i = end + 2
            continue
        c = seg[i]
        if c == "\\" and i + 1 < n:
            i += 1
            c = seg[i]
        parts.append("\\" + c if c in "\\]^-[" else c)
        if seg.startswith("-", i + 1) and i + 2 < n and seg[i + 2] != "]":
            hi = seg[i + 3] if seg[i + 2] == "\\" and i + 3 < n else seg[i + 2]
            if hi < c:
                raise BadPattern("reversed range")
            parts.append("-" + ("\\" + hi if hi in "\\]^-[" else hi))
            i += 4 if seg[i + 2] == "\\" else 3
            continue
        i += 1
    if i >= n:
        raise BadPattern("unclosed [")
    return f"[{'^/' if negate else ''}{''.join(parts)}]", i + 1
