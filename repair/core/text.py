"""Strings from a model or the file system, made safe for the medium they reach.

A signature key, an output key, a layer name, a file name or a converter message is chosen by whoever
made the model: it can hold ANSI/OSC escape sequences (clear the screen, forge a hyperlink), rich markup
(``[red]``), HTML (``<img onerror=...>``) or a ``|`` that breaks a markdown table. Each medium has one
function here, applied where the text reaches it (findings, summaries and messages keep the raw text, so
nothing is escaped twice); JSON stays verbatim (``json.dumps`` escapes what JSON needs).

- ``terminal``: one line for a rich console (markup on). Control characters (C0, DEL, C1, which start
  every escape sequence), bidi overrides and lone surrogates become '?', and rich markup is escaped.
  Rich keeps ESC sequences even with ``markup=False``: that flag alone is never enough.
- ``terminal_block``: the same for multi-line text (newlines and tabs kept).
- ``markdown``: one table cell or inline text in report.md. Control characters become '?', newlines a
  space, and the characters markdown or an HTML-rendering viewer would act on are escaped.
- ``markdown_code``: an inline code span (verbatim inside; pipes escaped for a table cell).
- ``markdown_fence``: a fenced block of raw text (evidence, a patch) that nothing inside can close early.
- ``html``: text for an HTML page.
"""

from __future__ import annotations

import html as _html
import re

# C0, DEL, C1, line/paragraph separators, bidi embeddings/overrides/isolates, and lone surrogates (the bytes of a
# non-UTF-8 file name decoded with surrogateescape: written out, one could become a raw C1 byte or fail to encode).
_SPECIAL = "\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_CONTROL_LINE = re.compile(f"[\x00-\x1f{_SPECIAL}]")
_CONTROL_BLOCK = re.compile(f"[\x00-\x08\x0b-\x1f{_SPECIAL}]")
# Markdown: table pipes, inline-code and emphasis marks, link brackets, and HTML (GitHub renders raw tags).
_MARKDOWN = {"\\": "\\\\", "|": "\\|", "`": "\\`", "*": "\\*", "_": "\\_", "~": "\\~", "[": "\\[", "]": "\\]",
             "<": "&lt;", ">": "&gt;", "&": "&amp;", "#": "\\#"}
_MARKDOWN_RE = re.compile("|".join(re.escape(c) for c in _MARKDOWN))
# What rich reads as a tag (rich.markup.RE_TAGS), with the backslashes before it.
_RICH_TAG = re.compile(r"(\\*)(\[[a-z#/@][^[]*?])")


def _one_line(text: object) -> str:
    return str(text).replace("\r\n", " ").replace("\n", " ")


def plain(text: object) -> str:
    """One line with every control and bidi-override character replaced by '?' (no other escaping)."""
    return _CONTROL_LINE.sub("?", str(text))


def plain_block(text: object) -> str:
    """Multi-line text with newlines and tabs kept and every other control character replaced by '?'."""
    return _CONTROL_BLOCK.sub("?", str(text).replace("\r\n", "\n"))


def _rich_escape(text: str) -> str:
    """Escape every rich tag (``[red]`` -> ``\\[red]``, the backslashes before it doubled).

    Unlike ``rich.markup.escape`` this does not double a trailing backslash: rich prints a backslash that no tag
    follows as it is, so ``a\\`` would show as ``a\\\\`` (measured, rich 15). The price: put no markup tag right
    after an escaped value that may end with a backslash (the tag would show as text; nothing is injected).
    """
    return _RICH_TAG.sub(lambda m: m.group(1) * 2 + "\\" + m.group(2), text)


def terminal(text: object) -> str:
    """One line for a rich console with markup on: control characters become '?', markup is escaped."""
    return _rich_escape(plain(text))


def terminal_block(text: object) -> str:
    """Multi-line text for a rich console with markup on: newlines and tabs kept, other control characters '?'."""
    return _rich_escape(plain_block(text))


def markdown(text: object) -> str:
    """Inline markdown (a table cell, a list item): one line, nothing a renderer would act on."""
    return _MARKDOWN_RE.sub(lambda m: _MARKDOWN[m.group(0)], plain(_one_line(text)))


def markdown_code(text: object, *, cell: bool = True) -> str:
    """Inline code in markdown (``like this``): one line, any backticks inside fenced by a longer run.

    In a table cell (``cell``, the default) a ``|`` must be written ``\\|`` even inside a code span, or it
    splits the cell (GFM); outside a table that backslash would show, so prose passes ``cell=False``.
    """
    value = plain(_one_line(text))
    if cell:
        value = value.replace("|", "\\|")
    longest = max((len(m) for m in re.findall(r"`+", value)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if value.startswith("`") or value.endswith("`") or not value.strip(" ") else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def markdown_fence(text: object, info: str = "") -> list[str]:
    """A fenced code block (its lines) holding ``text`` verbatim but for control characters: the fence is longer
    than any backtick run inside, so no line of the text can close it; inside a fence HTML is shown, never run."""
    value = plain_block(text).rstrip("\n")
    longest = max((len(m) for m in re.findall(r"`{3,}", value)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + info, value, fence]


def count(n: int, noun: str, plural: str = "") -> str:
    """``n`` and the noun in the right number: ``count(1, "file")`` is "1 file", ``count(2, "fix", "fixes")``
    "2 fixes" (the plural is the noun + "s" unless given)."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def html(text: object) -> str:
    """Text for an HTML page or attribute."""
    return _html.escape(plain_block(text), quote=True)
