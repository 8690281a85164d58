"""How much a fix may change: the one scale shared by model rewrites and source rewrites (ruff's fix safety)."""

from __future__ import annotations

import enum


class Safety(enum.Enum):
    SAFE = "safe"  # keeps behaviour exactly
    UNSAFE = "unsafe"  # changes the serving contract, or the numbers within tolerance
    DISPLAY_ONLY = "display-only"  # shown, never applied
