"""Shared fixtures: a corpus case is built once per session, in a fresh process, when a test asks for it."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]


class Corpus:
    """Builds each case once per session, when a test first asks for it (``artifact``).

    The cases that the selected tests are parametrized over (``case_id``, tests that use this fixture) are also
    built ahead, two at a time on a background pool (2 cores), in test order; a case a test asks for that is still
    queued there is built at once in the asking thread. ``close`` (at session teardown, before pytest's summary)
    drops what is still queued and kills the builds still running, so that nothing is left to join at exit: a
    ``-m "not slow"`` or ``-k`` run, or one stopped by ``-x`` or Ctrl-C, pays only for the cases its tests used.
    """

    def __init__(self, root: Path) -> None:
        from corpora import all_cases

        self.root = root
        self.cases = {c.id: c for c in all_cases()}
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="corpus-build")
        self._futures: dict[str, Future[Path]] = {}
        self._running: set[subprocess.Popen[str]] = set()
        self._lock = threading.Lock()  # guards _running and _closed (pool threads and the test thread)
        self._closed = False

    def _build(self, case_id: str) -> Path:
        dest = self.root / case_id
        with self._lock:
            if self._closed:
                raise RuntimeError(f"building {case_id}: the corpus is closed (the session is over)")
            # One process per build (`corpora build` execs itself for tf_keras cases), so close() kills it with one kill.
            proc = subprocess.Popen([sys.executable, "-m", "corpora", "build", case_id, str(dest)], cwd=ROOT,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            self._running.add(proc)
        try:
            stdout, stderr = proc.communicate()
        except BaseException:  # Ctrl-C in the test thread: leave no build behind
            _kill(proc)
            raise
        finally:
            with self._lock:
                self._running.discard(proc)
        if proc.returncode != 0:
            raise RuntimeError(f"building {case_id} failed (exit {proc.returncode}):\n{stderr[-3000:]}")
        return Path(stdout.strip().splitlines()[-1])

    def prefetch(self, case_ids: list[str]) -> None:
        """Queue builds of ``case_ids`` (ids not in the model corpus are ignored) on the background pool."""
        for case_id in case_ids:
            if case_id in self.cases and case_id not in self._futures:
                self._futures[case_id] = self._pool.submit(self._build, case_id)

    def artifact(self, case_id: str) -> Path:
        """The built artifact of ``case_id`` (the path a user passes to ``repair``), built now if need be."""
        if case_id not in self.cases:
            raise KeyError(f"no corpus case {case_id!r}")
        future = self._futures.get(case_id)
        if future is None or future.cancel():  # not queued, or still queued behind others: build it here, now
            future = Future()
            try:
                future.set_result(self._build(case_id))
            except Exception as exc:  # remembered, so a second test asking for it fails the same way
                future.set_exception(exc)
            self._futures[case_id] = future
        return future.result()

    def case_dir(self, case_id: str) -> Path:
        """The directory ``case_id`` is built in (sample files a build writes live beside its artifact)."""
        return self.root / case_id

    def close(self) -> None:
        """Drop the queued builds, kill the running ones and wait for the pool's threads (seconds at most)."""
        with self._lock:
            self._closed = True
            running = list(self._running)
        self._pool.shutdown(wait=False, cancel_futures=True)
        for proc in running:
            _kill(proc)
        self._pool.shutdown(wait=True)


def _kill(proc: subprocess.Popen[str]) -> None:
    """SIGKILL a build and reap it (Popen.kill is a no-op on a process already reaped)."""
    proc.kill()
    proc.wait()


_PLANNED: list[str] = []  # case ids the selected tests are parametrized over (any corpus), in run order
_PLANNED_MODELS: list[str] = []  # the same, of the selected tests that use the `corpus` fixture


@pytest.hookimpl(trylast=True)  # after -m/-k have deselected
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Remember which corpus cases the selected tests are parametrized over (after -m/-k deselection)."""
    del config
    for item in items:
        case_id = getattr(getattr(item, "callspec", None), "params", {}).get("case_id")
        if not isinstance(case_id, str):
            continue
        if case_id not in _PLANNED:
            _PLANNED.append(case_id)
        if "corpus" in getattr(item, "fixturenames", ()) and case_id not in _PLANNED_MODELS:
            _PLANNED_MODELS.append(case_id)


def planned_case_ids() -> list[str]:
    """The ``case_id`` parameters of the selected tests (any corpus: models, wild, sources), in run order."""
    return list(_PLANNED)


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Corpus]:
    built = Corpus(tmp_path_factory.mktemp("corpus"))
    built.prefetch(_PLANNED_MODELS)
    yield built
    built.close()


def tree_digest(path: Path) -> str:
    """A digest of every file's relative path and bytes: equal digests mean an untouched input."""
    h = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for f in files:
        h.update(str(f.relative_to(path.parent if path.is_file() else path)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def tree_stamps(path: Path, skip: tuple[str, ...] = ()) -> dict[str, tuple[int, int, int]]:
    """Every file under ``path`` (relative path → inode, size, mtime in ns), leaving out the top-level names in ``skip``.

    Equal stamps before and after a command mean it created, removed and rewrote none of these files: the evidence
    that a run skipped work, instead of a stopwatch (a rerun of a model removes its folders and writes them anew).
    """
    stamps = {}
    for f in sorted(p for p in path.rglob("*") if p.is_file() and not p.is_symlink()):
        rel = f.relative_to(path)
        if rel.parts[0] in skip:
            continue
        st = f.stat()
        stamps[str(rel)] = (st.st_ino, st.st_size, st.st_mtime_ns)
    return stamps
