"""The source catalog: the source form of each fix, one rewrite per file. The order of SOURCE_CATALOG is
the order rewrites run in; nothing here imports TensorFlow."""

from __future__ import annotations

from repair.source import SourceRewrite
from rewrites.source.swap_tnp_calls import SwapTnpCalls

SOURCE_CATALOG: tuple[SourceRewrite, ...] = (
    SwapTnpCalls(),
)

SOURCE_BY_ID: dict[str, SourceRewrite] = {r.id: r for r in SOURCE_CATALOG}

__all__ = ["SOURCE_BY_ID", "SOURCE_CATALOG"]
