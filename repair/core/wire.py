"""The protobuf wire format, read with the standard library: enough to pick a few fields out of a SavedModel's protos
before (or without) importing TensorFlow for its generated classes.

Used by the CLI (a signature's input keys, to answer a usage error before TensorFlow loads) and by the untrusted-model
guards (tf_keras's keras_metadata.pb, read before anything loads). Field numbers belong to the callers.
"""

from __future__ import annotations

from collections.abc import Iterator


class WireError(ValueError):
    """The bytes are not a protobuf message this reader understands (truncated, or a wire type it does not know)."""


def varint(data: bytes, pos: int) -> tuple[int, int]:
    """The base-128 varint at ``pos``: (value, the position after it)."""
    value, shift = 0, 0
    while True:
        if pos >= len(data) or shift > 63:
            raise WireError("truncated")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def fields(data: bytes) -> Iterator[tuple[int, int | bytes]]:
    """(field number, value) of one serialized message: varints as int, length-delimited fields as bytes; fixed-width
    fields are skipped."""
    pos = 0
    while pos < len(data):
        key, pos = varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = varint(data, pos)
            yield number, value
        elif wire == 2:
            size, pos = varint(data, pos)
            if pos + size > len(data):
                raise WireError("truncated")
            yield number, data[pos:pos + size]
            pos += size
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
        else:
            raise WireError(f"unknown wire type {wire}")


def map_entries(message: bytes, number: int) -> dict[str, bytes]:
    """A ``map<string, Message>`` field of ``message``: key -> the value's bytes."""
    entries: dict[str, bytes] = {}
    for field_number, entry in fields(message):
        if field_number == number and isinstance(entry, bytes):
            parts = dict(fields(entry))
            key, value = parts.get(1, b""), parts.get(2, b"")
            if isinstance(key, bytes) and isinstance(value, bytes):
                entries[key.decode("utf-8", errors="surrogateescape")] = value
    return entries
