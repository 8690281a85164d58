"""What `repair diagnose` is measured against, in its own process: ``convert_once.py SRC TAG[,TAG]``.

import tensorflow + one default ``TFLiteConverter.from_saved_model(SRC).convert()`` (the tags given, so a model tagged
{'train'} converts as diagnose converts it). A model that fails to convert is still one conversion: the exit code is 0
either way. Prints one JSON line with the stage times (seconds) measured inside the process.
"""

from __future__ import annotations

import json
import sys
import time

t0 = time.perf_counter()
import tensorflow as tf  # noqa: E402

src, tags = sys.argv[1], set(sys.argv[2].split(","))
t1 = time.perf_counter()
try:
    blob: bytes | None = tf.lite.TFLiteConverter.from_saved_model(src, tags=tags).convert()
    error = ""
except Exception as exc:  # the converter raises many types; a failed conversion is still the measured work
    blob, error = None, type(exc).__name__
t2 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "convert": t2 - t1, "tflite_bytes": len(blob or b""), "error": error}))
