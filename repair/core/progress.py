"""Progress of a long ``repair fix`` / ``repair diagnose``: each stage's name and the time since the run started.

The pipeline calls ``stage("converting the repaired model")`` at its stage boundaries; the CLI calls ``start()``
once. Without ``start()`` (the engine used as a library, the tests) ``stage`` does nothing.

- Not a terminal (a pipe, a CI log, a batch child's fix.log): one line per stage, ``[ 12.3s] converting ...``,
  and nothing else.
- A terminal: the same lines, and the current one's clock keeps ticking in place until the next stage begins.
- ``--quiet``: nothing at all.

The lines go to a duplicate of file descriptor 2 taken at ``start()``: while the converter runs, fd 2 is redirected
to a file that becomes the report's evidence (repair.core.tfenv.captured_stderr), and progress must reach the user,
not that file. Standard library only: the CLI imports this before TensorFlow.
"""

from __future__ import annotations

import os
import threading
import time

TICK = 0.5  # seconds between redraws of the current line on a terminal


class Progress:
    """Stage lines on a file descriptor (a duplicate of stderr); ticking in place when ``live``."""

    def __init__(self, fd: int, *, live: bool) -> None:
        self.fd = fd
        self.live = live
        self.started = time.perf_counter()
        self.current = ""
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.ticker: threading.Thread | None = None
        if live:
            self.ticker = threading.Thread(target=self._tick, name="repair-progress", daemon=True)
            self.ticker.start()

    def _line(self) -> str:
        line = f"[{time.perf_counter() - self.started:5.1f}s] {self.current}"
        if self.live:  # a redrawn line must fit: '\r' returns to the start of the last screen line only
            try:
                line = line[:max(20, os.get_terminal_size(self.fd).columns - 1)]
            except OSError:
                pass
        return line

    def _write(self, text: str) -> None:
        try:
            os.write(self.fd, text.encode("utf-8", errors="replace"))
        except OSError:  # stderr closed or gone (a killed terminal): progress is not worth failing the run for
            pass

    def _tick(self) -> None:
        while not self.stopped.wait(TICK):
            with self.lock:
                if self.current:
                    self._write("\r" + self._line() + "\x1b[K")

    def stage(self, name: str) -> None:
        """A new stage begins: its line (on a terminal, the previous line is finished first)."""
        with self.lock:
            if self.live and self.current:
                self._write("\n")
            self.current = name
            self._write(self._line() + ("" if self.live else "\n"))

    def stop(self) -> None:
        """End the last line; no more output."""
        self.stopped.set()
        if self.ticker is not None:
            self.ticker.join()
        with self.lock:
            if self.live and self.current:
                self._write("\n")
            self.current = ""
        try:
            os.close(self.fd)
        except OSError:
            pass


_active: Progress | None = None


def start(*, quiet: bool = False, live: bool | None = None) -> None:
    """Begin reporting stages on stderr (``quiet``: report nothing). ``live`` defaults to whether stderr is a
    terminal; pass False where something else writes to the terminal between stages (the ``-i`` prompts)."""
    global _active
    stop()
    if quiet:
        return
    try:
        fd = os.dup(2)
    except OSError:
        return
    _active = Progress(fd, live=os.isatty(2) if live is None else live and os.isatty(2))


def stage(name: str) -> None:
    """Report that the stage ``name`` begins (nothing unless ``start()`` was called)."""
    if _active is not None:
        _active.stage(name)


def stop() -> None:
    """Stop reporting (finishes the current line on a terminal); safe to call when nothing was started."""
    global _active
    if _active is not None:
        _active.stop()
        _active = None
