"""Running the real CLI in-process (typer's CliRunner) so TensorFlow is imported once per session."""

from __future__ import annotations

from dataclasses import dataclass

from typer.testing import CliRunner

from repair.cli import app


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str


def repair(*args: str) -> Run:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return Run(result.exit_code, result.stdout, result.stderr)
