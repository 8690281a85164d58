"""Cases for ``--quantize``: int8 within budget at once, a sensitive layer kept float, an op without an int8 kernel,
a tensor calibration never records, an impossible budget, calibration data of the wrong dtype.

Each build writes ``calibration.npz`` (when the case gives the tool a calibration file) and ``check.npz``: held-out
rows from the same distribution that the tool never sees, for the independent check in tests/e2e/test_quant_corpus.py.
"""
