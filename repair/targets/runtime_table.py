"""TensorFlow's table of the oldest TFLite/LiteRT runtime that loads each (builtin op, version) pair.

Data, transcribed from ``FindMinimumRuntimeVersionForOp`` in
tensorflow/compiler/mlir/lite/tools/versioning/runtime_version.cc at tensorflow/tensorflow commit
6ee576304d65b94f7b645286fbd4df96a279f7fc (Copyright 2023 The TensorFlow Authors, Apache License 2.0). That is the
copy the TFLite converter links (the older tensorflow/lite/tools/versioning/runtime_version.cc stops at 2.13 and
is no longer what the converter writes into the ``min_runtime_version`` metadata). Its newest rows are 2.18.0.

Keys are the schema's ``BuiltinOperator`` enum names; each value maps an op version to the runtime, as TensorFlow
writes it ("2.12.0"). A pair missing from the table is either newer than the table or was never given a row
(BROADCAST_TO v1 was rolled back and has none); the check reports both as "not in the table".

LiteRT's own copy (google-ai-edge/LiteRT tflite/tools/versioning/runtime_version.cc, commit 05215c29) has four
more rows, kept in ``LITERT_ONLY`` below: it is where the table is maintained after the split.
"""

from __future__ import annotations

SOURCE = ("tensorflow/tensorflow", "tensorflow/compiler/mlir/lite/tools/versioning/runtime_version.cc",
          "6ee576304d65b94f7b645286fbd4df96a279f7fc")
NEWEST_ROW = "2.18.0"  # the newest runtime any row of the transcribed table names

# op -> {version: runtime}
RUNTIME_TABLE: dict[str, dict[int, str]] = {
    "AVERAGE_POOL_2D": {1: "1.5.0", 2: "1.14.0", 3: "2.3.0"},
    "BATCH_MATMUL": {1: "2.3.0", 2: "2.3.0", 3: "2.4.0", 4: "2.5.0"},
    "BROADCAST_TO": {2: "2.5.0", 3: "2.5.0"},  # v1 was rolled back (builtin code shortage): no row
    "CONV_2D": {1: "1.5.0", 2: "1.14.0", 3: "1.14.0", 4: "2.3.0", 5: "2.4.0", 6: "2.9.0", 7: "2.11.0", 8: "2.15.0"},
    "DEPTHWISE_CONV_2D": {1: "1.5.0", 2: "1.12.0", 3: "1.14.0", 4: "2.2.0", 5: "2.3.0", 6: "2.3.0", 7: "2.11.0"},
    "ADD": {1: "1.5.0", 2: "1.14.0", 3: "2.4.0", 4: "2.6.0", 5: "2.13.0"},
    "ADD_N": {1: "1.14.0"},
    "SPACE_TO_BATCH_ND": {1: "1.6.0", 2: "1.14.0", 3: "2.3.0", 4: "2.12.0"},
    "SUB": {1: "1.6.0", 2: "1.14.0", 3: "2.3.0", 4: "2.4.0", 5: "2.4.0"},
    "DENSIFY": {1: "2.2.0"},
    "DIV": {1: "1.6.0", 2: "2.3.0"},
    "BATCH_TO_SPACE_ND": {1: "1.6.0", 2: "1.14.0", 3: "2.3.0", 4: "2.12.0"},
    "CAST": {1: "1.5.0", 2: "2.7.0", 3: "2.8.0", 4: "2.9.0", 5: "2.12.0", 6: "2.15.0"},
    "CONCATENATION": {1: "1.5.0", 2: "1.14.0", 3: "2.3.0", 4: "2.14.0"},
    "DEPTH_TO_SPACE": {1: "2.1.0", 2: "2.5.0"},
    "EMBEDDING_LOOKUP": {1: "1.13.0", 2: "1.14.0", 3: "1.14.0", 4: "2.18.0"},
    "EMBEDDING_LOOKUP_SPARSE": {1: "1.5.0"},
    "FAKE_QUANT": {1: "1.5.0", 2: "1.10.0"},
    "FULLY_CONNECTED": {1: "1.5.0", 2: "1.10.0", 3: "1.14.0", 4: "1.14.0", 5: "2.0.0", 6: "2.1.0", 7: "2.3.0", 8: "2.3.0",
                        9: "2.3.0", 10: "2.11.0", 11: "2.15.0", 12: "2.17.0", 13: "2.18.0"},
    "GATHER": {1: "1.6.0", 2: "1.14.0", 3: "1.15.0", 4: "2.4.0", 5: "2.5.0", 6: "2.13.0", 7: "2.15.0"},
    "GATHER_ND": {1: "1.14.0", 2: "2.3.0", 3: "2.5.0", 4: "2.13.0", 5: "2.16.0"},
    "HASHTABLE_LOOKUP": {1: "1.5.0"},
    "SVDF": {1: "1.5.0", 2: "1.14.0", 3: "2.2.0", 4: "2.3.0"},
    "L2_NORMALIZATION": {1: "1.5.0", 2: "1.14.0"},
    "L2_POOL_2D": {1: "1.5.0"},
    "LOCAL_RESPONSE_NORMALIZATION": {1: "1.5.0"},
    "MAX_POOL_2D": {1: "1.5.0", 2: "1.14.0", 3: "2.3.0"},
    "MAXIMUM": {1: "1.14.0", 2: "1.14.0", 3: "2.3.0", 4: "2.3.0"},
    "MINIMUM": {1: "1.14.0", 2: "1.14.0", 3: "2.3.0", 4: "2.3.0"},
    "MUL": {1: "1.5.0", 2: "1.14.0", 3: "1.15.0", 4: "2.3.0", 5: "2.6.0", 6: "2.11.0", 7: "2.13.0"},
    "NON_MAX_SUPPRESSION_V4": {1: "2.1.0"},
    "NON_MAX_SUPPRESSION_V5": {1: "2.1.0"},
    "PAD": {1: "1.5.0", 2: "1.14.0", 3: "2.4.0", 4: "2.6.0"},
    "TILE": {1: "1.10.1", 2: "2.2.0", 3: "2.8.0"},
    "PADV2": {1: "1.9.0", 2: "1.14.0", 3: "2.4.0", 4: "2.6.0"},
    "RESHAPE": {1: "1.5.0"},
    "SOFTMAX": {1: "1.5.0", 2: "1.14.0", 3: "2.3.0"},
    "SPACE_TO_DEPTH": {1: "1.5.0", 2: "1.14.0"},
    "TRANSPOSE": {1: "1.6.0", 2: "1.14.0", 3: "1.15.0", 4: "2.3.0", 5: "2.4.0", 6: "2.12.0"},
    "LSTM": {1: "1.7.0", 2: "1.10.0", 3: "1.14.0", 4: "2.3.0"},
    "UNIDIRECTIONAL_SEQUENCE_LSTM": {1: "1.13.1", 2: "1.14.0", 3: "2.3.0", 4: "2.12.0"},
    "BIDIRECTIONAL_SEQUENCE_LSTM": {1: "1.14.0", 2: "1.14.0", 3: "1.14.0"},
    "BIDIRECTIONAL_SEQUENCE_RNN": {1: "1.14.0", 2: "1.14.0", 3: "2.3.0"},
    "MEAN": {1: "1.6.0", 2: "1.14.0", 3: "2.4.0"},
    "SUM": {1: "1.10.0", 2: "1.15.0"},
    "REDUCE_MAX": {1: "1.11.0", 2: "1.14.0", 3: "2.5.0"},
    "REDUCE_MIN": {1: "1.11.0", 2: "1.14.0", 3: "2.5.0"},
    "REDUCE_PROD": {1: "1.11.0", 2: "2.6.0"},
    "REDUCE_ANY": {1: "1.11.0"},
    "RELU6": {1: "1.5.0", 2: "1.14.0", 3: "2.5.0"},
    "RESIZE_BILINEAR": {1: "1.7.0", 2: "1.14.0", 3: "2.2.0", 4: "2.5.0"},
    "RESIZE_NEAREST_NEIGHBOR": {1: "1.13.1", 2: "1.14.0", 3: "2.3.0", 4: "2.4.0"},
    "RNN": {1: "1.5.0", 2: "1.14.0", 3: "2.3.0"},
    "SKIP_GRAM": {1: "1.5.0"},
    "SQUEEZE": {1: "1.6.0", 2: "2.5.0"},
    "SPLIT": {1: "1.5.0", 2: "1.14.0", 3: "1.14.0", 4: "2.3.0"},
    "SPLIT_V": {1: "1.13.1", 2: "2.3.0"},
    "STRIDED_SLICE": {1: "1.6.0", 2: "1.14.0", 3: "2.1.0", 4: "2.2.0", 5: "2.5.0", 6: "2.6.0", 7: "2.14.0", 8: "2.14.0"},
    "TOPK_V2": {1: "1.7.0", 2: "1.14.0", 3: "2.13.0"},
    "ARG_MAX": {1: "1.9.0", 2: "1.14.0", 3: "2.9.0"},
    "ARG_MIN": {1: "1.9.0", 2: "1.14.0", 3: "2.9.0"},
    "TRANSPOSE_CONV": {1: "1.9.0", 2: "2.2.0", 3: "2.3.0", 4: "2.13.0", 5: "2.15.0"},
    "SPARSE_TO_DENSE": {1: "1.9.0", 2: "1.14.0", 3: "1.15.0"},
    "EXPAND_DIMS": {1: "1.10.0"},
    "PACK": {1: "1.11.0", 2: "1.14.0", 3: "2.3.0", 4: "2.13.0"},
    "SHAPE": {1: "1.10.0"},
    "SLICE": {1: "1.14.0", 2: "1.14.0", 3: "1.14.0", 4: "2.4.0", 5: "2.5.0", 6: "2.14.0"},
    "TANH": {1: "1.14.0", 2: "1.14.0", 3: "2.3.0"},
    "ONE_HOT": {1: "1.11.0"},
    "UNPACK": {1: "1.11.0", 2: "1.14.0", 3: "2.2.0", 4: "2.3.0"},
    "LEAKY_RELU": {1: "1.13.1", 2: "2.3.0"},
    "LOGISTIC": {1: "1.14.0", 2: "1.14.0", 3: "2.3.0"},
    "LOG_SOFTMAX": {1: "1.14.0", 2: "1.14.0"},
    "LSH_PROJECTION": {1: "1.5.0"},
    "SQUARED_DIFFERENCE": {1: "1.13.1", 2: "2.5.0"},
    "MIRROR_PAD": {1: "1.13.1", 2: "2.3.0", 3: "2.12.0"},
    "UNIQUE": {1: "1.14.0"},
    "UNIDIRECTIONAL_SEQUENCE_RNN": {1: "1.14.0", 2: "1.14.0", 3: "2.3.0"},
    "WHERE": {1: "1.14.0", 2: "2.8.0"},
    "DEQUANTIZE": {1: "1.13.1", 2: "1.14.0", 3: "1.15.0", 4: "2.2.0", 5: "2.7.0", 6: "2.18.0"},
    "REVERSE_SEQUENCE": {1: "1.14.0"},
    "EQUAL": {1: "1.14.0", 2: "1.14.0", 3: "2.3.0", 4: "2.13.0"},
    "NOT_EQUAL": {1: "1.14.0", 2: "1.14.0", 3: "2.3.0"},
    "GREATER": {1: "1.14.0", 2: "1.14.0"},
    "GREATER_EQUAL": {1: "1.14.0", 2: "1.14.0", 3: "2.13.0"},
    "LESS": {1: "1.14.0", 2: "1.14.0", 3: "2.13.0"},
    "LESS_EQUAL": {1: "1.14.0", 2: "1.14.0"},
    "SCATTER_ND": {1: "2.1.0"},
    "SEGMENT_SUM": {1: "2.2.0"},
    "SELECT": {1: "1.14.0", 2: "1.14.0", 3: "2.12.0", 4: "2.12.0"},
    "SELECT_V2": {1: "2.2.0", 2: "2.12.0"},
    "IF": {1: "1.15.0"},
    "FLOOR_DIV": {1: "1.14.0", 2: "1.14.0", 3: "2.13.0"},
    "FLOOR": {1: "1.9.0"},
    "CEIL": {1: "1.14.0"},
    "MATRIX_DIAG": {1: "1.14.0"},
    "MATRIX_SET_DIAG": {1: "1.14.0"},
    "ELU": {1: "1.14.0"},
    "QUANTIZE": {1: "1.14.0", 2: "1.15.0", 3: "2.7.0"},
    "ROUND": {1: "1.14.0"},
    "RELU": {1: "1.5.0", 2: "2.1.0", 3: "2.5.0"},
    "RELU_N1_TO_1": {1: "1.5.0"},
    "RELU_0_TO_1": {1: "2.10.0"},
    "PRELU": {1: "1.8.0"},
    "EXP": {1: "1.7.0", 2: "2.12.0"},
    "COS": {1: "1.14.0"},
    "NEG": {1: "1.9.0"},
    "POW": {1: "1.10.0"},
    "LOGICAL_OR": {1: "1.11.0"},
    "LOGICAL_AND": {1: "1.11.0"},
    "LOGICAL_NOT": {1: "1.11.0"},
    "FLOOR_MOD": {1: "1.13.0", 2: "2.13.0"},
    "RANGE": {1: "1.13.0", 2: "2.14.0"},
    "SIN": {1: "1.9.0"},
    "LOG": {1: "1.14.0", 2: "2.15.0"},
    "SQRT": {1: "1.10.0"},
    "RSQRT": {1: "1.10.0", 2: "2.5.0", 3: "2.15.0"},
    "SQUARE": {1: "1.12.0"},
    "ZEROS_LIKE": {1: "1.12.0"},
    "ABS": {1: "1.13.0", 2: "2.4.0", 3: "2.5.0", 4: "2.6.0", 5: "2.12.0"},
    "HARD_SWISH": {1: "1.15.0"},
    "FILL": {1: "1.13.0", 2: "2.3.0", 3: "2.5.0", 4: "2.12.0"},
    "REVERSE_V2": {1: "1.14.0", 2: "2.2.0", 3: "2.5.0"},
    "RANK": {1: "1.14.0"},
    "WHILE": {1: "1.15.0"},
    "CUMSUM": {1: "2.4.0"},
    "CALL_ONCE": {1: "2.5.0"},
    "RFFT2D": {1: "2.5.0"},
    "CONV_3D": {1: "2.5.0"},
    "IMAG": {1: "2.5.0"},
    "REAL": {1: "2.5.0"},
    "COMPLEX_ABS": {1: "2.5.0"},
    "HASHTABLE": {1: "2.5.0"},
    "HASHTABLE_FIND": {1: "2.5.0"},
    "HASHTABLE_IMPORT": {1: "2.5.0"},
    "HASHTABLE_SIZE": {1: "2.5.0"},
    "REDUCE_ALL": {1: "2.6.0"},
    "CONV_3D_TRANSPOSE": {1: "2.6.0"},
    "VAR_HANDLE": {1: "2.6.0"},
    "READ_VARIABLE": {1: "2.6.0"},
    "ASSIGN_VARIABLE": {1: "2.6.0"},
    "BROADCAST_ARGS": {1: "2.6.0"},
    "RANDOM_STANDARD_NORMAL": {1: "2.8.0"},
    "BUCKETIZE": {1: "2.8.0"},
    "RANDOM_UNIFORM": {1: "2.8.0"},
    "MULTINOMIAL": {1: "2.8.0"},
    "GELU": {1: "2.9.0", 2: "2.9.0"},
    "DYNAMIC_UPDATE_SLICE": {1: "2.9.0", 2: "2.17.0"},
    "UNSORTED_SEGMENT_PROD": {1: "2.10.0"},
    "UNSORTED_SEGMENT_MAX": {1: "2.10.0"},
    "UNSORTED_SEGMENT_MIN": {1: "2.11.0"},
    "UNSORTED_SEGMENT_SUM": {1: "2.10.0"},
    "ATAN2": {1: "2.10.0"},
    "SIGN": {1: "2.11.0", 2: "2.12.0"},
    "BITCAST": {1: "2.13.0"},
    "BITWISE_XOR": {1: "2.13.0"},
    "RIGHT_SHIFT": {1: "2.13.0"},
    "STABLEHLO_SCATTER": {1: "2.15.0"},
    "DILATE": {1: "2.15.0"},
    "STABLEHLO_RNG_BIT_GENERATOR": {1: "2.15.0"},
    "REDUCE_WINDOW": {1: "2.15.0"},
    "STABLEHLO_GATHER": {1: "2.16.0"},
    "STABLEHLO_ADD": {1: "2.16.0"},
    "STABLEHLO_MULTIPLY": {1: "2.16.0"},
    "STABLEHLO_REDUCE_WINDOW": {1: "2.16.0"},
    "STABLEHLO_MAXIMUM": {1: "2.16.0"},
    "STABLEHLO_MINIMUM": {1: "2.16.0"},
    "STABLEHLO_PAD": {1: "2.16.0"},
    "STABLEHLO_COMPOSITE": {1: "2.17.0"},
    "STABLEHLO_AND": {1: "2.17.0"},
    "STABLEHLO_SHIFT_LEFT": {1: "2.17.0"},
    "STABLEHLO_CBRT": {1: "2.17.0"},
    "STABLEHLO_CASE": {1: "2.17.0"},
}

# Rows only LiteRT's copy has (google-ai-edge/LiteRT tflite/tools/versioning/runtime_version.cc, commit
# 05215c291e48a7c2fe164566cedd678b80e9eb8c, Apache-2.0). The check falls back to them for pairs the TensorFlow
# table lacks, so a model from a newer converter is judged by the newest rows we have; the report says which.
LITERT_SOURCE = ("google-ai-edge/LiteRT", "tflite/tools/versioning/runtime_version.cc",
                 "05215c291e48a7c2fe164566cedd678b80e9eb8c")
LITERT_ONLY: dict[str, dict[int, str]] = {
    "CAST": {7: "2.17.0"},
    "TRANSPOSE": {7: "2.14.4"},
    "DYNAMIC_UPDATE_SLICE": {3: "2.19.0", 4: "2.20.0"},
}


def needed_runtime(op: str, version: int) -> tuple[str, str] | None:
    """The runtime the pair needs and which table said so ("tensorflow" or "litert"); None when neither has it."""
    row = RUNTIME_TABLE.get(op, {}).get(version)
    if row is not None:
        return row, "tensorflow"
    row = LITERT_ONLY.get(op, {}).get(version)
    if row is not None:
        return row, "litert"
    return None


def parse_version(text: str) -> tuple[int, ...]:
    """"2.14.4" -> (2, 14, 4); the numeric fields only, so "2.14" < "2.14.0" never matters (both are 2.14)."""
    parts: list[int] = []
    for field in text.strip().split("."):
        if not field.isdigit():
            break
        parts.append(int(field))
    while len(parts) < 3:
        parts.append(0)
    return tuple(parts)


def newest_version(op: str) -> int | None:
    """The newest version of ``op`` either table has a row for (None when the op has no row at all)."""
    versions = set(RUNTIME_TABLE.get(op, {})) | set(LITERT_ONLY.get(op, {}))
    return max(versions) if versions else None


def newest_version_on(op: str, runtime: tuple[int, int]) -> int | None:
    """The newest version of ``op`` a runtime ``(major, minor)`` loads, by the tables (None: no version of it)."""
    best: int | None = None
    for table in (RUNTIME_TABLE, LITERT_ONLY):
        for version, needs in table.get(op, {}).items():
            if parse_version(needs)[:2] <= runtime and (best is None or version > best):
                best = version
    return best
