"""What a corpus case is: a deterministic build script for one broken artifact, and what repair must show.

Each case lives in ``corpora/<class>/<case>.py`` and defines ``CASE``. ``build(dest)`` writes into the
empty directory ``dest`` and returns the artifact path the user would pass to ``repair`` (a SavedModel
directory, or a .keras/.h5 file). Builds run in a fresh process (``python -m corpora build ID DEST``)
because tf_keras/tfmot cases need ``TF_USE_LEGACY_KERAS`` set before TensorFlow is imported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Expect:
    """What ``repair diagnose`` and ``repair fix`` must show on the case.

    Flags may contain ``{case_dir}``, replaced by the directory the case was built in (for sample
    files the build writes next to the artifact).
    """

    findings: frozenset[str]  # finding ids diagnose must report (at least these)
    fix_exit: int  # expected exit code of `repair fix` (see repair.core.errors.ExitCode)
    absent: frozenset[str] = frozenset()  # finding ids diagnose must NOT report
    rewrites: tuple[str, ...] = ()  # rewrite ids `repair fix` must apply
    absent_ops: frozenset[str] = frozenset()  # .tflite ops the repaired model must not have (e.g. WHILE)
    diagnose_args: tuple[str, ...] = ()
    fix_args: tuple[str, ...] = ()
    note: str = ""
    # --quantize cases: how many layers the fix may keep float (fewest, most), and the ops with no quantized kernel
    # that the published model must compute in float
    quant_float_layers: tuple[int, int] = (0, 0)
    quant_float_ops: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Case:
    """One broken artifact, built the way users build it."""

    id: str  # "<class>/<case>", equal to the module path under corpora/
    summary: str  # one line: how the artifact was made and what is wrong with it
    build: Callable[[Path], Path]
    expect: Expect
    legacy_keras: bool = False  # build with TF_USE_LEGACY_KERAS=1 (tf_keras, tfmot)
    extra: dict[str, str] = field(default_factory=dict)
