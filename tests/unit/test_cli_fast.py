"""CLI surface that must stay cheap: help and the catalog listing never import TensorFlow."""

from __future__ import annotations

import subprocess
import sys

from tests.cli_helpers import repair


def test_help_does_not_import_tensorflow() -> None:
    code = "import sys; from repair.cli import app; sys.argv=['repair','--help']\n" \
           "try:\n    app()\nexcept SystemExit: pass\nprint('tensorflow' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.stdout.strip().endswith("False"), proc.stdout + proc.stderr


def test_rewrites_lists_catalog_in_order() -> None:
    from rewrites import CATALOG

    run = repair("rewrites")
    assert run.exit_code == 0
    positions = [run.stdout.index(r.id) for r in CATALOG]
    assert positions == sorted(positions)


def test_rewrites_explains_one() -> None:
    run = repair("rewrites", "retag_serve")
    assert run.exit_code == 0
    assert "What it fixes:" in run.stdout and "Safety:" in run.stdout


def test_unknown_rewrite_is_bad_input() -> None:
    run = repair("rewrites", "nope")
    assert run.exit_code == 2 and "no rewrite 'nope'" in run.stderr


def test_error_lines_keep_square_brackets(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Messages are printed verbatim, not read as Rich markup: '[ray]' in a path or hint must survive."""
    missing = tmp_path / "models[ray]"
    run = repair("fix", str(missing), "--out", str(tmp_path / "out"))
    assert run.exit_code == 2 and f"{missing}: no such file or directory" in run.stderr
