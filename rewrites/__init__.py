"""The catalogs: model rewrites (rewrites/catalog.py, which fixes their order) and source rewrites (rewrites/source/).

``from rewrites import CATALOG`` loads the model catalog on first use, not on ``import rewrites.source``: the codemod
never needs it, and it costs ~0.1 s of start-up (NumPy and every model rewrite).
"""

from __future__ import annotations

from typing import Any

__all__ = ["BY_ID", "CATALOG"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from rewrites import catalog

        return getattr(catalog, name)
    raise AttributeError(f"module 'rewrites' has no attribute '{name}'")
