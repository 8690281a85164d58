"""CLI: ``python -m corpora list`` / ``python -m corpora build ID DEST``.

``build`` re-executes itself (``os.execve``, same process) with TF_USE_LEGACY_KERAS=1 for tf_keras cases, so the
caller never has to know which Keras a case needs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def _build(case_id: str, dest: Path) -> int:
    from corpora import get_case

    case = get_case(case_id)
    if case.legacy_keras and os.environ.get("TF_USE_LEGACY_KERAS") != "1":
        # exec, not a child process: the build stays one process, so whoever started it can stop it with one kill
        env = dict(os.environ, TF_USE_LEGACY_KERAS="1")
        os.execve(sys.executable, [sys.executable, "-m", "corpora", "build", case_id, str(dest)], env)
    dest.mkdir(parents=True, exist_ok=True)
    if any(dest.iterdir()):
        print(f"corpora: {dest} is not empty", file=sys.stderr)
        return 2
    from repair.core.tfenv import tf

    tf()  # TensorFlow imported with its start-up log lines captured: `make demo` shows the case's path, not TF's noise
    artifact = case.build(dest)
    print(artifact)
    return 0


def main(argv: list[str]) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if argv[:1] == ["list"]:
        from corpora import all_cases

        for case in all_cases():
            print(f"{case.id}\t{case.summary}")
        return 0
    if len(argv) == 3 and argv[0] == "build":
        return _build(argv[1], Path(argv[2]))
    print("usage: python -m corpora list | build ID DEST", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
