"""simulacra.text.calls: loading APIs (Python, OpenAPI), tool descriptions, validation, execution."""

from __future__ import annotations

import json
import textwrap

import pytest

from simulacra.errors import InputError
from simulacra.text.calls import (DEMO_API, CallExecutionError, call_key, load_api, parse_call, parse_calls, render_call,
                                  system_prompt)

TOOLS_PY = '''
import datetime
from typing import Literal, Optional


def area(width: float, height: float, unit: Literal["m", "ft"] = "m") -> dict:
    """Area of a rectangle.

    Parameters
    ----------
    width : float
        Width of the rectangle.
    height : float
        Its height.
    unit : str
        Unit of both sides.
    """
    return {"area": width * height, "unit": unit}


def next_day(day: datetime.date, note: Optional[str] = None) -> str:
    """The day after.

    Args:
        day (date): The day.
        note: Anything.
    """
    return (day + datetime.timedelta(days=1)).isoformat()


def sleepy(seconds: float) -> float:
    """Sleep."""
    import time
    time.sleep(seconds)
    return seconds


def online(url: str) -> str:
    """Fetch a page."""
    import urllib.request
    return urllib.request.urlopen(url, timeout=2).read().decode()


def raw_socket() -> str:
    """Open a socket below the socket module."""
    import _socket
    return str(_socket.socket())


def crash() -> int:
    """Kill the process."""
    import os
    os._exit(3)


def _private() -> None:
    pass
'''

OPENAPI = """
openapi: 3.0.3
info: {title: Pets, version: "1"}
paths:
  /pets/{petId}:
    parameters:
      - {name: petId, in: path, required: true, schema: {type: integer}, description: The pet's id}
    get:
      operationId: getPet
      summary: Find a pet by id
      parameters:
        - {name: verbose, in: query, schema: {type: boolean, default: false}}
      responses:
        "200":
          description: ok
          content:
            application/json:
              example: {id: 7, name: Rex}
        "404": {description: not found}
  /pets:
    post:
      operationId: addPet
      summary: Add a pet
      requestBody:
        content:
          application/json:
            schema: {$ref: "#/components/schemas/NewPet"}
      responses:
        "201":
          description: created
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Pet"}
    delete:
      summary: Remove every pet
      responses:
        "500": {description: nope}
components:
  schemas:
    NewPet:
      type: object
      required: [name]
      properties:
        name: {type: string}
        species: {type: string, enum: [dog, cat]}
    Pet:
      type: object
      required: [id, name]
      properties:
        id: {type: integer}
        name: {type: string}
"""


@pytest.fixture(scope="module")
def py_api(tmp_path_factory):
    path = tmp_path_factory.mktemp("tools") / "mytools.py"
    path.write_text(textwrap.dedent(TOOLS_PY))
    api = load_api(str(path))
    yield api
    api.close()


def test_python_tools_from_hints_and_docstrings(py_api):
    assert py_api.names == ["area", "next_day", "sleepy", "online", "raw_socket", "crash"]
    area = py_api.tools[0]
    assert area["type"] == "function"
    fn = area["function"]
    assert fn["name"] == "area" and fn["description"] == "Area of a rectangle."
    props = fn["parameters"]["properties"]
    assert props["width"] == {"type": "number", "description": "Width of the rectangle."}
    assert props["unit"]["enum"] == ["m", "ft"] and props["unit"]["default"] == "m"
    assert fn["parameters"]["required"] == ["width", "height"]
    nxt = py_api.functions["next_day"].parameters["properties"]
    assert nxt["day"]["format"] == "date" and nxt["day"]["description"] == "The day."
    assert py_api.functions["area"].defaults == {"unit": "m"}
    json.dumps(py_api.tools)  # JSON-able


def test_validate_reports_each_problem(py_api):
    assert py_api.validate({"name": "area", "arguments": {"width": 2, "height": 3}}) == []
    assert py_api.validate({"name": "nope", "arguments": {}}) == ["unknown function 'nope'"]
    errs = py_api.validate({"name": "area", "arguments": {"width": "2", "unit": "yd", "extra": 1}})
    assert any("height" in e and "required" in e for e in errs)
    assert any(e.startswith("width:") for e in errs) and any(e.startswith("unit:") for e in errs)
    assert any("extra" in e for e in errs)
    assert py_api.validate({"name": "next_day", "arguments": {"day": "2025-02-30"}}) == ["day: '2025-02-30' is not a 'date'"]
    assert py_api.validate("area(2, 3)") and py_api.validate({"name": "area", "arguments": [2, 3]})


def test_execute_runs_in_a_worker_with_timeout_and_no_network(py_api):
    assert py_api.execute({"name": "area", "arguments": {"width": 2, "height": 3}}) == {"area": 6, "unit": "m"}
    assert py_api.execute({"name": "next_day", "arguments": {"day": "2024-02-28"}}) == "2024-02-29"
    with pytest.raises(CallExecutionError, match="timed out after 0.5 s"):
        py_api.execute({"name": "sleepy", "arguments": {"seconds": 5}}, timeout=0.5)
    # the worker was replaced: the next call works
    assert py_api.execute({"name": "sleepy", "arguments": {"seconds": 0}}) == 0
    with pytest.raises(CallExecutionError, match="network access is disabled"):
        py_api.execute({"name": "online", "arguments": {"url": "http://127.0.0.1:9/"}})
    with pytest.raises(CallExecutionError, match="network access is disabled"):
        py_api.execute({"name": "raw_socket", "arguments": {}})
    with pytest.raises(CallExecutionError, match="worker process died"):
        py_api.execute({"name": "crash", "arguments": {}})
    with pytest.raises(CallExecutionError, match="invalid call"):
        py_api.execute({"name": "area", "arguments": {"width": 1}})
    assert py_api.execute({"name": "area", "arguments": {"width": 1, "height": 1, "unit": "ft"}})["unit"] == "ft"


def test_openapi_operations_and_mock(tmp_path):
    spec = tmp_path / "pets.yaml"
    spec.write_text(OPENAPI)
    api = load_api(spec)
    assert api.kind == "openapi" and api.names == ["getPet", "addPet", "delete_pets"]
    get = api.functions["getPet"].parameters
    assert get["required"] == ["petId"] and get["properties"]["verbose"]["default"] is False
    assert get["properties"]["petId"]["description"] == "The pet's id"
    add = api.functions["addPet"].parameters
    assert add["properties"]["species"]["enum"] == ["dog", "cat"] and add["required"] == ["name"]
    out = api.execute({"name": "getPet", "arguments": {"petId": 7, "verbose": True}})
    assert out == {"status": 200, "method": "GET", "url": "/pets/7?verbose=True", "response": {"id": 7, "name": "Rex"}}
    made = api.execute({"name": "addPet", "arguments": {"name": "Tom", "species": "cat"}})
    assert made["status"] == 201 and made["body"] == {"name": "Tom", "species": "cat"}
    assert isinstance(made["response"]["id"], int) and isinstance(made["response"]["name"], str)
    with pytest.raises(CallExecutionError, match="no success response"):
        api.execute({"name": "delete_pets", "arguments": {}})
    assert api.validate({"name": "getPet", "arguments": {"petId": "seven"}})


def test_openapi_json_and_bad_files(tmp_path):
    import yaml

    spec = tmp_path / "pets.json"
    spec.write_text(json.dumps(yaml.safe_load(OPENAPI)))
    assert load_api(spec).names == ["getPet", "addPet", "delete_pets"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n")
    with pytest.raises(InputError, match="not valid YAML"):
        load_api(bad)
    bad.write_text("openapi: 3.0.0\n")
    with pytest.raises(InputError, match="no 'paths'"):
        load_api(bad)
    with pytest.raises(InputError, match="does not exist"):
        load_api(tmp_path / "missing.yaml")
    with pytest.raises(InputError, match="neither a file nor an importable module"):
        load_api("no_such_module_xyz")


def test_python_errors_are_one_line(tmp_path):
    path = tmp_path / "hintless.py"
    path.write_text("def f(x):\n    return x\n")
    with pytest.raises(InputError, match="'x' of 'f' has no type hint"):
        load_api(path)
    path.write_text("X = 1\n")
    with pytest.raises(InputError, match="no public functions"):
        load_api(path)
    path.write_text("raise RuntimeError('boom')\n")
    with pytest.raises(InputError, match="Importing .* failed: RuntimeError: boom"):
        load_api(path)


def test_call_text_round_trip_and_keys():
    api = load_api(DEMO_API)
    call = {"name": "split_bill", "arguments": {"total": 84.5, "people": 3}}
    assert parse_call(render_call(call)) == call
    assert parse_call("I cannot help with that.") is None
    assert parse_call("<tool_call>{not json") == {"name": None, "raw": "{not json"}
    two = render_call(call) + "\n" + render_call({"name": "weekday_of", "arguments": {"date": "2025-01-01"}})
    assert [c["name"] for c in parse_calls(two)] == ["split_bill", "weekday_of"]
    assert parse_call('<tool_call>{"name": "f", "arguments": "{\\"a\\": 1}"}</tool_call>') == {"name": "f", "arguments": {"a": 1}}
    assert api.canonical(call) == api.canonical({"name": "split_bill", "arguments": {"people": 3, "total": 84.5, "tip_percent": 15}})
    assert api.canonical(call) != api.canonical({"name": "split_bill", "arguments": {"people": 3, "total": 84.5, "tip_percent": 20}})
    assert call_key(None) == api.canonical(None) == "null"
    prompt = system_prompt(api)
    assert all(name in prompt for name in api.names) and "<tool_call>" in prompt


def test_system_prompt_is_compact_one_line_per_function():
    from simulacra.text.calls.api import Function, _signature

    with load_api(DEMO_API) as api:
        prompt = system_prompt(api)
    lines = prompt.splitlines()
    assert len(lines) == 2 + len(api.names)  # a header, one line per function, how to call
    units = next(line for line in lines if line.startswith("convert_units("))
    # a list of values two arguments share is written once, under a name; bare words, no quotes
    assert units.startswith("convert_units(value: number, from_unit: unit, to_unit: unit) - ")
    assert units.count(" kg ") == 1 and units.endswith("unit: one of mm cm m km in ft yd mi mg g kg oz lb ml l gal cup c f k.")
    assert "list_items(category: one of laptops monitors accessories furniture, in_stock_only: boolean = false)" in prompt
    assert "add_days(date: date YYYY-MM-DD, days: integer)" in prompt
    assert len(prompt) < 1600  # the long form (quoted, |-joined, repeated lists) was 1,768 characters, 678 tokens
    fn = Function("f", "Do a thing. More detail that the prompt leaves out.",
                  {"type": "object", "properties": {"mode": {"enum": ["a b", 2]}, "x": {"type": "integer", "default": 3}},
                   "required": ["mode"]})
    assert _signature(fn) == 'f(mode: one of "a b" 2, x: integer = 3) - Do a thing.'


def test_demo_api_is_deterministic_and_fails_clearly():
    with load_api(DEMO_API) as api:
        assert len(api.names) == 10
        assert api.execute({"name": "convert_units", "arguments": {"value": 100, "from_unit": "f", "to_unit": "c"}})["value"] == 37.777778
        assert api.execute({"name": "days_between", "arguments": {"start": "2024-12-25", "end": "2025-03-01"}}) == {"days": 66}
        assert api.execute({"name": "reserve_stock", "arguments": {"sku": "mon-270", "quantity": 2}})["left"] == 5
        with pytest.raises(CallExecutionError, match="only 0 units of LAP-102"):
            api.execute({"name": "reserve_stock", "arguments": {"sku": "LAP-102", "quantity": 1}})
        with pytest.raises(CallExecutionError, match="cannot convert kg"):
            api.execute({"name": "convert_units", "arguments": {"value": 1, "from_unit": "kg", "to_unit": "km"}})
        stock = api.execute({"name": "list_items", "arguments": {"category": "monitors", "in_stock_only": True}})
        assert [i["sku"] for i in stock["items"]] == ["MON-240", "MON-270"]


def test_demo_heldout_set_is_valid_and_varied():
    from simulacra.text.calls.demo_api import heldout_path
    from simulacra.text.formats import read_jsonl

    rows = read_jsonl(heldout_path())
    assert len(rows) >= 100 and len({r["request"] for r in rows}) == len(rows)
    nulls = [r for r in rows if r["call"] is None]
    assert 10 <= len(nulls) <= 30
    with load_api(DEMO_API) as api:
        assert {r["call"]["name"] for r in rows if r["call"]} == set(api.names)
        for r in rows:
            if r["call"] is not None:
                assert api.validate(r["call"]) == [], r
