"""How much a fix may change: the one scale shared by model rewrites and source rewrites (ruff's fix safety).

``VERIFIED`` sits between safe and unsafe: the fix keeps the serving contract (keys, dtypes, shapes) and changes
the numbers only within the parity tolerance, and ``repair fix`` proves that on the output before publishing
(the gate compares the .tflite and the exported SavedModel with the original). Because that proof runs on every
model, such a fix is applied by default, like a safe one; a model whose numbers drift beyond the tolerance is
refused by the gate, never published. Nothing verifies a source edit's numbers, so the source catalog has no
verified fixes.
"""

from __future__ import annotations

import enum


class Safety(enum.Enum):
    SAFE = "safe"  # keeps behaviour exactly
    VERIFIED = "verified"  # keeps the serving contract; numbers change within the tolerance the gate proves
    UNSAFE = "unsafe"  # changes the serving contract, or numbers nothing proves
    DISPLAY_ONLY = "display-only"  # shown, never applied

    @property
    def by_default(self) -> bool:
        """Whether the fix runs without being asked for (``--yes``, the default of ``fix`` and ``codemod``)."""
        return self in (Safety.SAFE, Safety.VERIFIED)
