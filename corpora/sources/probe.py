"""The probe every corpus source script ends with: what the user's own Python computed, for parity checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def write_reference(out_dir: Path | str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
    """Save the inputs used (``in:<key>``) and the in-memory model's outputs on them (``out:<key>``)."""
    arrays = {f"in:{k}": np.asarray(v) for k, v in inputs.items()}
    arrays.update({f"out:{k}": np.asarray(v) for k, v in outputs.items()})
    np.savez(Path(out_dir) / "reference.npz", **arrays)
