"""Shared fixtures: every corpus case is built once per session, two at a time, in fresh processes."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]


class Corpus:
    """Builds each case once, on a 2-worker pool (2 cores): the cases the collected tests are parametrized over
    are queued when the session starts (in test order), any other case when a test first asks for it. A run
    that deselects the end-to-end tests (``make test-fast``) builds only what its tests use."""

    def __init__(self, root: Path) -> None:
        from corpora import all_cases

        self.root = root
        self.cases = {c.id: c for c in all_cases()}
        self._pool = ThreadPoolExecutor(max_workers=2)
        self._futures: dict[str, Future[Path]] = {}

    def _build(self, case_id: str) -> Path:
        dest = self.root / case_id
        proc = subprocess.run([sys.executable, "-m", "corpora", "build", case_id, str(dest)],
                              capture_output=True, text=True, cwd=ROOT)
        if proc.returncode != 0:
            raise RuntimeError(f"building {case_id} failed:\n{proc.stderr[-3000:]}")
        return Path(proc.stdout.strip().splitlines()[-1])

    def prefetch(self, case_ids: list[str]) -> None:
        for case_id in case_ids:
            if case_id in self.cases and case_id not in self._futures:
                self._futures[case_id] = self._pool.submit(self._build, case_id)

    def artifact(self, case_id: str) -> Path:
        self.prefetch([case_id])
        future = self._futures[case_id]
        if future.cancel():  # still queued behind others: build it now, in this thread
            done: Future[Path] = Future()
            done.set_result(self._build(case_id))
            self._futures[case_id] = future = done
        return future.result()

    def case_dir(self, case_id: str) -> Path:
        return self.root / case_id


_PLANNED: list[str] = []  # corpus case ids of the collected tests, in run order


@pytest.hookimpl(trylast=True)  # after -m/-k have deselected
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Remember which corpus cases the selected tests are parametrized over (after -m/-k deselection)."""
    del config
    for item in items:
        case_id = getattr(getattr(item, "callspec", None), "params", {}).get("case_id")
        if isinstance(case_id, str) and case_id not in _PLANNED:
            _PLANNED.append(case_id)


def planned_case_ids() -> list[str]:
    """The ``case_id`` parameters of the selected tests (any corpus: models, wild, sources), in run order."""
    return list(_PLANNED)


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    built = Corpus(tmp_path_factory.mktemp("corpus"))
    built.prefetch(_PLANNED)
    return built


def tree_digest(path: Path) -> str:
    """A digest of every file's relative path and bytes: equal digests mean an untouched input."""
    h = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for f in files:
        h.update(str(f.relative_to(path.parent if path.is_file() else path)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()
