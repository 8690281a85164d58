"""One TFLite conversion attempt, captured as a value.

The converter is always the real ``tf.lite.TFLiteConverter.from_saved_model`` with default settings
(builtins only): that is what "converts" means in every report.

``from_saved_model`` loads the SavedModel with ``tf.saved_model.load`` (to check the signature keys) and drops the
object; the MLIR importer then reads the directory on its own. That load is the same one parity and the gate's
TensorFlow check need, so ``shared_load`` hands it the per-process load of ``repair.model.working.load`` instead:
one ``tf.saved_model.load`` per directory per run instead of three (each 1.2-5.3 s on the bench architectures).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from repair.core.crash import breadcrumb, known_crash, next_conversion
from repair.core.findings import FindingKind
from repair.core.tfenv import captured_stderr, tf
from repair.model.artifact import SERVE
from repair.model.classify import Classified, classify
from repair.model.working import load


@dataclass(frozen=True)
class Conversion:
    """The outcome of converting one SavedModel."""

    tflite: bytes | None  # None when conversion failed
    classified: tuple[Classified, ...] = ()
    text: str = ""  # exception message + converter stderr, verbatim, for the report
    exception: str = ""  # exception class name
    seconds: float = 0.0
    error_codes: tuple[tuple[str, str], ...] = field(default=())
    locations: frozenset[tuple[str, int]] = frozenset()  # (file, line) of the Python that created failing ops

    @property
    def ok(self) -> bool:
        return self.tflite is not None


def _error_codes(exc: BaseException) -> list[tuple[str, str]]:
    out = []
    for err in getattr(exc, "errors", None) or []:
        try:
            code = err.ErrorCode.Name(err.error_code)
        except (AttributeError, ValueError):
            code = str(getattr(err, "error_code", ""))
        out.append((code, err.operator.name if err.HasField("operator") else ""))
    return out


def _locations(exc: BaseException) -> frozenset[tuple[str, int]]:
    """(file, line) of the Python that created each failing op.

    Only SavedModels saved with ``SaveOptions(save_debug_info=True)`` carry them (measured, TF 2.21): each
    ConverterErrorData's ``location.call`` is a chain of groups, each opened by an entry named
    ``node@function``; the op's own line is the last frame with a file in the first group. Paths are
    absolute but not normalised, so both the real path and the bare file name are kept.
    """
    found = set()
    for err in getattr(exc, "errors", None) or []:
        try:
            calls = list(err.location.call)
        except AttributeError:
            continue
        end = next((i for i in range(1, len(calls)) if calls[i].name), len(calls))
        frames = [c.source for c in calls[:end] if c.source.filename and c.source.line > 0]
        if frames:
            name, line = frames[-1].filename, int(frames[-1].line)
            found.update({(os.path.realpath(name), line), (Path(name).name, line)})
    return frozenset(found)


@contextmanager
def shared_load(path: Path) -> Iterator[None]:
    """While converting ``path``, the converter's own ``tf.saved_model.load`` calls of it (``from_saved_model`` checks
    the signature keys on one, ``convert()`` reads the debug info off another) get the run's cached load instead.
    Wrap both ``from_saved_model`` and ``convert()``. Never without ``signature_keys``: then ``from_saved_model`` may
    rename the loaded object's ``serve`` endpoint, which must not happen to a shared object.

    Only that directory is served from the cache; any other load goes to TensorFlow's function. If a TensorFlow
    version renames the private ``_load``, nothing is patched and the converter loads on its own (slower, same result).
    """
    from tensorflow.lite.python import lite  # noqa: PLC0415 (TensorFlow is imported lazily everywhere)

    original = getattr(lite, "_load", None)
    if original is None:
        yield
        return
    wanted = os.path.realpath(path)

    def shared(export_dir: Any, tags: Any = None, options: Any = None) -> Any:
        if options is None and os.path.realpath(str(export_dir)) == wanted:
            return load(path, frozenset(tags) if tags else frozenset({SERVE}))
        return original(export_dir, tags, options)

    lite._load = shared
    try:
        yield
    finally:
        lite._load = original


def convert_saved_model(path: Path, *, tags: frozenset[str] | None = None, signature_key: str | None = None) -> Conversion:
    """Convert builtins-only. ``tags``/``signature_key`` let diagnosis look past a wrong tag set."""
    ordinal = next_conversion()
    crash = known_crash(ordinal)
    if crash is not None:  # this very conversion killed an earlier attempt of this run: do not try it again
        signal, last = str(crash.get("signal", "a signal")), str(crash.get("stderr", "")).strip()
        text = (f"The TFLite converter crashed the process ({signal}) converting {path}.\n"
                f"Its last stderr lines:\n{last or '(none)'}")
        detail = f"the converter crashed the process ({signal})" + (f": {last.splitlines()[-1][:200]}" if last else "")
        return Conversion(tflite=None, classified=(Classified(FindingKind.CONVERTER_CRASH, (), detail),), text=text,
                          exception="ConverterCrash")
    t = tf()
    start = time.perf_counter()
    with breadcrumb("convert", ordinal, str(path)) as log, captured_stderr(log) as err:
        try:
            if signature_key:
                with shared_load(path):
                    blob = t.lite.TFLiteConverter.from_saved_model(
                        str(path), signature_keys=[signature_key], tags=set(tags) if tags else None).convert()
            else:
                blob = t.lite.TFLiteConverter.from_saved_model(str(path), tags=set(tags) if tags else None).convert()
            exc: BaseException | None = None
        except Exception as caught:  # the converter raises many types; all of them are a failed attempt
            blob, exc = None, caught
    seconds = time.perf_counter() - start
    if exc is None:
        return Conversion(tflite=bytes(blob), seconds=seconds)
    codes = _error_codes(exc)
    text = f"{type(exc).__name__}: {exc}\n{err.text}".strip()
    return Conversion(
        tflite=None,
        classified=tuple(classify(codes, text)),
        text=text,
        exception=type(exc).__name__,
        seconds=seconds,
        error_codes=tuple(codes),
        locations=_locations(exc),
    )
