"""A LibCST codemod that changes nothing: the baseline for parse + visit + print with LibCST's own CLI."""

from __future__ import annotations

from libcst.codemod import VisitorBasedCodemodCommand


class NoopCommand(VisitorBasedCodemodCommand):
    DESCRIPTION = "Parses, visits and re-prints every file without changing it."
