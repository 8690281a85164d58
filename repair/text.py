"""Strings from a model or the file system, made safe for the medium they reach.

A signature key, an output key, a layer name, a file name or a converter message is chosen by whoever
made the model: it can hold ANSI/OSC escape sequences (clear the screen, forge a hyperlink), rich markup
(``[red]``), HTML (``<img onerror=...>``) or a ``|`` that breaks a markdown table. Each medium has one
function here; JSON stays verbatim (``json.dumps`` escapes what JSON needs).

- ``terminal``: one line for the terminal. Control characters (C0, DEL, C1, which start every escape
  sequence) become '?', and rich markup is escaped.
- ``terminal_block``: the same for multi-line text (newlines and tabs kept).
- ``markdown``: one table cell or inline text in report.md. Control characters become '?', newlines a
  space, and the characters markdown or an HTML-rendering viewer would act on are escaped.
- ``html``: text for an HTML page.
"""

from __future__ import annotations

import html as _html
import re

from rich.markup import escape as _rich_escape

_CONTROL_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_CONTROL_BLOCK = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# Markdown: table pipes, inline-code and emphasis marks, link brackets, and HTML (GitHub renders raw tags).
_MARKDOWN = {"\\": "\\\\", "|": "\\|", "`": "\\`", "*": "\\*", "_": "\\_", "[": "\\[", "]": "\\]",
             "<": "&lt;", ">": "&gt;", "&": "&amp;", "#": "\\#"}
_MARKDOWN_RE = re.compile("|".join(re.escape(c) for c in _MARKDOWN))


def plain(text: object) -> str:
    """One line with every control and bidi-override character replaced by '?' (no other escaping)."""
    return _CONTROL_LINE.sub("?", str(text))


def terminal(text: object) -> str:
    """One line for a rich console with markup on: control characters become '?', markup is escaped."""
    return _rich_escape(plain(text))


def terminal_block(text: object) -> str:
    """Multi-line text for a rich console with markup on: newlines and tabs kept, other control characters '?'."""
    return _rich_escape(_CONTROL_BLOCK.sub("?", str(text)))


def markdown(text: object) -> str:
    """Inline markdown (a table cell, a list item): one line, nothing a renderer would act on."""
    return _MARKDOWN_RE.sub(lambda m: _MARKDOWN[m.group(0)], plain(str(text).replace("\r\n", " ").replace("\n", " ")))


def markdown_code(text: object) -> str:
    """Inline code in markdown (``like this``): one line, any backticks inside fenced by a longer run."""
    value = plain(str(text).replace("\n", " ")).replace("|", "\\|")
    longest = max((len(m) for m in re.findall(r"`+", value)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if value.startswith("`") or value.endswith("`") or not value else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def html(text: object) -> str:
    """Text for an HTML page or attribute."""
    return _html.escape(_CONTROL_BLOCK.sub("?", str(text)), quote=True)
