"""The physical floor of one repair, in its own process: ``floor.py SRC OUT TAG[,TAG]``.

import tensorflow + load + save with the serving signature + one TFLite conversion of the result.
Prints one JSON line with the stage times (seconds) measured inside the process.
"""

from __future__ import annotations

import json
import sys
import time

t0 = time.perf_counter()
import tensorflow as tf  # noqa: E402

src, out, tags = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
t1 = time.perf_counter()
loaded = tf.saved_model.load(src, tags=tags)
t2 = time.perf_counter()
tf.saved_model.save(loaded, out, signatures=loaded.signatures["serving_default"])
t3 = time.perf_counter()
tflite = tf.lite.TFLiteConverter.from_saved_model(out).convert()
t4 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "save": t3 - t2, "convert": t4 - t3, "tflite_bytes": len(tflite)}))
