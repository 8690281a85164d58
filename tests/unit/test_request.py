"""Sample TF Serving requests: parsing the body, and pairing its keys with a model's inputs (no TensorFlow)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from repair.core.errors import BadInput
from repair.core.request import InputPort, RequestInput, ValueKind, match_keys, parse_request


def _write(tmp_path: Path, body: object) -> Path:
    path = tmp_path / "request.json"
    path.write_text(json.dumps(body))
    return path


def test_rows_give_kind_and_batched_shape(tmp_path: Path) -> None:
    body = {"instances": [{"age": [31.0], "ids": [1, 2, 3], "city": "paris"},
                          {"age": [40.5], "ids": [4, 5, 6], "city": "rome"}]}
    found = {r.key: r for r in parse_request(_write(tmp_path, body))}
    assert [*found] == ["age", "ids", "city"]  # the client's order is kept
    assert found["age"] == RequestInput("age", ValueKind.FLOAT, (2, 1))
    assert found["ids"] == RequestInput("ids", ValueKind.INT, (2, 3))
    assert found["city"] == RequestInput("city", ValueKind.STRING, (2,))


def test_columnar_inputs_and_b64(tmp_path: Path) -> None:
    body = {"inputs": {"image": [[[0.1, 0.2], [1, 2]]], "raw": [{"b64": "aGk="}]}}
    found = {r.key: r for r in parse_request(_write(tmp_path, body))}
    assert found["image"] == RequestInput("image", ValueKind.FLOAT, (1, 2, 2))
    assert found["raw"].kind is ValueKind.STRING


@pytest.mark.parametrize("text", ["not json", json.dumps({"rows": []}), json.dumps([1, 2])])
def test_bad_bodies_are_one_line_bad_input(tmp_path: Path, text: str) -> None:
    path = tmp_path / "request.json"
    path.write_text(text)
    with pytest.raises(BadInput, match="--request"):
        parse_request(path)


def test_values_decide_when_dtypes_or_shapes_differ() -> None:
    ports = [InputPort("input_1", "float32", (None, 4)), InputPort("input_2", "int64", (None, 1))]
    request = (RequestInput("zipcode", ValueKind.INT, (1, 1)), RequestInput("features", ValueKind.FLOAT, (1, 4)))
    match = match_keys(ports, request)
    assert match.mapping == {"input_1": "features", "input_2": "zipcode"}
    assert "values" in match.how


def test_names_decide_between_equal_values() -> None:
    ports = [InputPort("age_input", "float32", (None, 1)), InputPort("income_input", "float32", (None, 1))]
    request = (RequestInput("income", ValueKind.FLOAT, (1, 1)), RequestInput("age", ValueKind.FLOAT, (1, 1)))
    match = match_keys(ports, request)
    assert match.mapping == {"age_input": "age", "income_input": "income"}
    assert match.how.endswith("then the names")


def test_request_order_decides_for_generic_names() -> None:
    ports = [InputPort("input_10", "float32", (None, 1)), InputPort("input_2", "float32", (None, 1))]
    request = (RequestInput("age", ValueKind.FLOAT, (1, 1)), RequestInput("income", ValueKind.FLOAT, (1, 1)))
    match = match_keys(ports, request)
    # input_2 was created before input_10: it gets the first key the client sends
    assert match.mapping == {"input_2": "age", "input_10": "income"}
    assert "order" in match.how


def test_ambiguous_pairing_names_the_line_to_paste() -> None:
    ports = [InputPort("height", "float32", (None, 1)), InputPort("weight", "float32", (None, 1))]
    request = (RequestInput("a", ValueKind.FLOAT, (1, 1)), RequestInput("b", ValueKind.FLOAT, (1, 1)))
    match = match_keys(ports, request)
    assert not match.mapping
    assert "--input-keys a,b" in match.problem


def test_no_fitting_pairing_is_said() -> None:
    ports = [InputPort("input_1", "string", (None,))]
    request = (RequestInput("x", ValueKind.FLOAT, (1, 3)),)
    assert "fits" in match_keys(ports, request).problem
