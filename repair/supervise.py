"""A converter that aborts must not take the tool down: a supervisor that never imports TensorFlow.

The MLIR converter can end the whole process (``LLVM ERROR: Failed to infer result type(s)``, then
``Aborted (core dumped)``; segfaults on some GRU graphs), and no Python ``except`` sees that. So
``repair diagnose`` and ``repair fix`` run in a child process started by a parent that only waits:

- The child marks each conversion before it starts (``current.json`` in a directory the parent gave it,
  with the conversion's ordinal and what it converts) and sends the converter's stderr to a file there,
  so the converter's last words survive the crash. It also lists the scratch directories it creates.
- A child that dies by a signal during a conversion is run again, told which conversion crashed and how.
  The run is deterministic up to that point, so the same conversion comes up with the same ordinal; this
  time it is not attempted: it becomes a ``converter-crash`` finding with the converter's last stderr
  lines, and the run goes on (diagnose reports it, fix refuses with exit 1 or repairs around it).
- The parent removes what the dead child left (its scratch directories), so nothing half-written
  remains and nothing appears in ``--out``.

The normal path pays one small Python process that imports only the standard library; TensorFlow is
imported once, by the child. A crash costs one more run of the work before the crash.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from repair.core.crash import ENV_CHILD, ENV_CRASHES, ENV_DIR, ENV_OFF
from repair.core.tfenv import QUIET_ENV  # standard library only; tfenv imports TF lazily

SUPERVISED = frozenset({"diagnose", "fix"})
MAX_CRASHES = 3  # distinct conversions that may crash in one run before the run gives up
STDERR_LINES = 12  # how much of the converter's last words a finding keeps


def _wanted(argv: list[str]) -> bool:
    if os.environ.get(ENV_CHILD) or os.environ.get(ENV_OFF) == "1":
        return False
    return bool(argv) and argv[0] in SUPERVISED and not {"--help", "-h"} & set(argv)


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


def _read_json(path: Path) -> dict[str, object] | None:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _plain(value: object) -> str:
    """A model path or name for the terminal: control characters (escape sequences) become '?' (the supervisor
    imports only the standard library, so not repair.core.text)."""
    return "".join("?" if ord(c) < 32 or 127 <= ord(c) < 160 or 0xD800 <= ord(c) < 0xE000 else c for c in str(value))


def _tail(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-STDERR_LINES:])


def _clean(directory: Path) -> None:
    """Remove the scratch directories a dead child listed (never anything it did not create)."""
    listing = directory / "scratch.txt"
    if listing.is_file():
        for line in listing.read_text(encoding="utf-8", errors="surrogateescape").splitlines():
            if line.strip():
                shutil.rmtree(line.strip(), ignore_errors=True)
        listing.unlink()


def supervise(argv: list[str]) -> int | None:
    """Run ``repair ARGV`` in a supervised child and return its exit code; None when no supervision applies."""
    if not _wanted(argv):
        return None
    crashes: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="repair-supervise-") as tmp:
        directory = Path(tmp)
        while True:
            env = dict(os.environ, **{ENV_CHILD: "1", ENV_DIR: str(directory), ENV_CRASHES: json.dumps(crashes)})
            child = subprocess.Popen([sys.executable, "-m", "repair.cli", *argv], env=env)
            previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the child; it decides
            try:
                code = child.wait()
            finally:
                signal.signal(signal.SIGINT, previous)
            if code >= 0:
                return code
            crumb = _read_json(directory / "current.json")
            _clean(directory)
            (directory / "current.json").unlink(missing_ok=True)
            how = _signal_name(code)
            if code == -signal.SIGINT:
                return 130
            if crumb is None or crumb.get("stage") != "convert":
                stage = crumb.get("stage") if crumb else "outside a conversion"
                print(f"repair: the process died ({how}) {stage}; nothing was published", file=sys.stderr)
                return 4
            if len(crashes) >= MAX_CRASHES:
                print(f"repair: the TFLite converter crashed the process {len(crashes) + 1} times ({how}); giving up, "
                      "nothing was published", file=sys.stderr)
                return 4
            crashes.append({"ordinal": crumb.get("ordinal"), "signal": how, "what": crumb.get("what", ""),
                            "stderr": _tail(directory / "stderr.txt")})
            print(f"repair: the TFLite converter crashed the process ({how}) converting {_plain(crumb.get('what', '?'))}; "
                  "running again with that conversion recorded as a finding", file=sys.stderr)


def main() -> None:
    """The ``repair`` entry point: supervise diagnose/fix, run everything else (help, codemod, batch) here."""
    # TensorFlow's start-up notices (oneDNN, cuda, absl) are silenced for the whole process tree (the child, batch's
    # children, any module that imports a TensorFlow proto directly), not only where tfenv.tf() imports it.
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    code = supervise(sys.argv[1:])
    if code is not None:
        sys.exit(code)
    from repair.cli import main as cli_main
    from repair.core.tfenv import run_and_exit

    run_and_exit(cli_main)
