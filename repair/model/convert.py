"""One TFLite conversion attempt, captured as a value.

The converter is always the real ``tf.lite.TFLiteConverter.from_saved_model`` with default settings
(builtins only): that is what "converts" means in every report.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from repair.core.crash import breadcrumb, known_crash, next_conversion
from repair.core.findings import FindingKind
from repair.core.tfenv import captured_stderr, tf
from repair.model.classify import Classified, classify


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
            converter = t.lite.TFLiteConverter.from_saved_model(
                str(path),
                signature_keys=[signature_key] if signature_key else None,
                tags=set(tags) if tags else None,
            )
            blob = converter.convert()
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
