"""simulacra corpus for APIs: sampling, phrasing, three-stage verification, grounding, export."""

from __future__ import annotations

import json

import numpy as np
import pytest

from simulacra.errors import InputError
from simulacra.text.calls import DEMO_API, load_api, parse_calls
from simulacra.text.calls.corpus import build_calls, plan_kinds, stage_yield, verify
from simulacra.text.calls.output import write_calls_corpus
from simulacra.text.calls.values import dates_in, numbers_in, sample_arguments, ungrounded, value_grounded, write_date
from simulacra.text.engine import Engine
from simulacra.text.result import TaskResult


@pytest.fixture(scope="module")
def demo():
    api = load_api(DEMO_API)
    yield api
    api.close()


def test_dates_and_numbers_are_read_back_in_every_written_form():
    rng = np.random.default_rng(0)
    for iso in ("2025-03-03", "1999-12-31", "2024-02-29"):
        for _ in range(12):
            assert iso in dates_in("Meet on " + write_date(iso, rng) + " please"), iso
    assert numbers_in("2k, 7.5 million and a dozen") == [2.0, 2000.0, 7500000.0, 1.0, 12.0]
    assert value_grounded("value", 69, {}, "69 m is how many cm?", {})  # metres, not millions
    assert value_grounded("days", -30, {}, "30 days before 1 July 2024", {})
    assert not value_grounded("days", -30, {}, "30 days after 1 July 2024", {})


def test_grounding_accepts_documented_forms_and_defaults(demo):
    forms = demo.hints["surface_forms"]
    params = demo.functions["shipping_cost"].parameters
    args = {"weight_kg": 2.5, "destination": "GB", "express": True}
    assert ungrounded(args, params, "Send 2.5 kg to the UK by express", forms) == []
    assert ungrounded(args, params, "Send 2.5 kg to the UK", forms) == ["express"]
    assert ungrounded({**args, "express": False}, params, "Send 2.5 kg to the UK", forms) == []  # the default
    assert ungrounded(args, params, "Send 3 kg to France by express", forms) == ["weight_kg", "destination"]


def test_sampled_arguments_follow_the_schema(demo):
    rng = np.random.default_rng(1)
    for fn in demo.functions.values():
        for _ in range(20):
            args = sample_arguments(fn.parameters, rng, demo.hints["value_pools"])
            assert demo.validate({"name": fn.name, "arguments": args}) == []


def test_plan_kinds_keeps_the_shares():
    kinds = plan_kinds(1000, {"single": 0.5, "no_call": 0.25, "multi": 0.25}, np.random.default_rng(0))
    assert len(kinds) == 1000 and kinds.count("single") == 500 and kinds.count("multi") == 250
    with pytest.raises(InputError, match="mix"):
        plan_kinds(10, {"bogus": 1.0}, np.random.default_rng(0))


def test_build_calls_verifies_and_accounts_for_every_row(demo):
    res = build_calls(demo, 120, seed=2)
    assert len(res.records) == 120 and all(st.balanced for st in res.stages)
    kinds = {r["kind"] for r in res.records}
    assert kinds == {"single", "context", "multi", "no_call", "unsupported"}
    forms = demo.hints["surface_forms"]
    for row in res.records:
        calls = row.get("calls") or ([row["call"]] if row["call"] else [])
        assert (row["call"] is None) == (row["kind"] in ("no_call", "unsupported"))
        for call in calls:
            assert demo.validate(call) == []
            demo.execute(call)
            assert ungrounded(call["arguments"], demo.functions[call["name"]].parameters, row["request"], forms) == []
    # same seed, same rows
    again = build_calls(demo, 120, seed=2)
    assert [r["request"] for r in again.records] == [r["request"] for r in res.records]


def test_each_stage_rejects_with_its_reason(demo):
    rows = [
        {"kind": "single", "index": 0, "request": "Convert 5 km to miles",
         "call": {"name": "convert_units", "arguments": {"value": 5, "from_unit": "km", "to_unit": "parsec"}}},
        {"kind": "single", "index": 1, "request": "Convert 5 kg to km",
         "call": {"name": "convert_units", "arguments": {"value": 5, "from_unit": "kg", "to_unit": "km"}}},
        {"kind": "single", "index": 2, "request": "Convert 7 km to miles",
         "call": {"name": "convert_units", "arguments": {"value": 5, "from_unit": "km", "to_unit": "mi"}}},
        {"kind": "single", "index": 3, "request": "", "call": {"name": "weekday_of", "arguments": {"date": "2025-01-01"}}},
        {"kind": "single", "index": 4, "request": "What weekday is 1 January 2025?",
         "call": {"name": "weekday_of", "arguments": {"date": "2025-01-01"}}},
    ]
    res = TaskResult("calls")
    kept = verify(demo, res, rows, timeout=5)
    assert [r["index"] for r in kept] == [4]
    reasons = {r["index"]: (r["_stage"], r["_reason"]) for r in res.filtered}
    assert reasons[0][0] == "schema" and "parsec" in reasons[0][1]
    assert reasons[1][0] == "execution" and "cannot convert kg" in reasons[1][1]
    assert reasons[2][0] == "grounding" and "value=5" in reasons[2][1]
    assert reasons[3] == ("text", "empty request")
    y = stage_yield(res)
    assert y["schema"] == {"inputs": 4, "passed": 3, "failed": {"schema": 1}, "rate": 0.75}


def test_model_rephrasing_is_verified_and_rejects_are_kept(demo):
    res = build_calls(demo, 30, seed=4, engine=Engine("fake"), model_share=1.0, max_rounds=1)
    model_rows = [r for r in res.records + res.filtered if r.get("phrasing") == "model"]
    assert len(model_rows) == 30 + sum(1 for r in res.filtered if r["_stage"] == "quota")
    # the fake model echoes its prompt, which drops the values: grounding must catch it, rows kept apart
    assert all(r.get("template_text") for r in model_rows)
    assert all(st.balanced for st in res.stages)
    assert len(res.records) + sum(1 for r in res.filtered if r["_stage"] != "quota") >= 30


def test_decontamination_replaces_rows_that_overlap_the_eval_set(demo):
    res = build_calls(demo, 60, seed=5, eval_requests=["Which day of the week was it", "Tell me a joke about programmers."], ngram=4)
    assert len(res.records) == 60
    dec = res.config["decontamination"]
    assert dec["rows_contaminated"] == sum(1 for r in res.filtered if r["_stage"] == "decontamination") > 0
    assert not any("tell me a joke about programmers" in r["request"].lower() for r in res.records)


def test_export_writes_chat_pairs_and_a_loadable_hf_folder(demo, tmp_path):
    res = build_calls(demo, 40, seed=6)
    manifest = write_calls_corpus(res, demo, tmp_path / "out", command="simulacra corpus demo")
    out = tmp_path / "out"
    msgs = [json.loads(line) for line in (out / "messages.jsonl").read_text().splitlines()]
    assert len(msgs) == 40 == manifest["output"]["rows"]
    for row, m in zip(res.records, msgs):
        assert [x["role"] for x in m["messages"]] == ["system", "user", "assistant"]
        got = parse_calls(m["messages"][2]["content"])
        assert got == (row.get("calls") or ([row["call"]] if row["call"] else []))
    pairs = [json.loads(line) for line in (out / "pairs.jsonl").read_text().splitlines()]
    assert pairs and all(p["chosen"] != p["rejected"] for p in pairs)
    assert json.loads((out / "tools.json").read_text()) == demo.tools
    card = (out / "hf" / "README.md").read_text()
    assert card.startswith("---") and "schema validation, execution" in card and "| grounding |" in card
    import datasets

    ds = datasets.load_dataset(str(out / "hf"), split="train")
    assert len(ds) == 40 and json.loads(ds[0]["call"]) == res.records[0]["call"]
    assert manifest["verification"]["execution"]["inputs"] > 0


def test_cli_corpus_calls(tmp_path):
    from simulacra.cli.main import main

    py = tmp_path / "tools.py"
    py.write_text('def greet(name: str, times: int = 1) -> str:\n    """Greet someone.\n\n    Parameters\n    ----------\n'
                  '    name : str\n        Who.\n    times : int\n        How often.\n    """\n    return "hi " * times + name\n')
    main(["corpus", str(py), "--tasks", "calls", "-n", "25", "-o", str(tmp_path / "c"), "--model-share", "0"])
    rows = [json.loads(line) for line in (tmp_path / "c" / "rows.jsonl").read_text().splitlines()]
    assert len(rows) == 25 and any(r["call"] and r["call"]["name"] == "greet" for r in rows)
    with pytest.raises(SystemExit):
        main(["corpus", str(py), "--tasks", "qa", "-n", "5", "-o", str(tmp_path / "d")])
    with pytest.raises(SystemExit):
        main(["corpus", str(py), "-n", "5", "-o", str(tmp_path / "d"), "--model-share", "1.5"])
    # auto: no rephrasing by a model that is not a server (the embedded model's rewrites measured unreliable)
    main(["corpus", str(py), "-n", "10", "-o", str(tmp_path / "e"), "--llm", "fake"])
    manifest = json.loads((tmp_path / "e" / "manifest.json").read_text())
    assert manifest["config"]["model_share"] == 0.0 and manifest["phrasing"].get("model") is None


def _ok(example=None):
    content = {"application/json": {"example": example}} if example else {}
    return {"description": "ok", **({"content": content} if content else {})}


PETS = {"openapi": "3.0.3", "info": {"title": "Pets", "version": "1"}, "paths": {
    "/pets/{petId}": {"get": {"operationId": "getPet", "summary": "Find a pet by id", "responses": {"200": _ok({"id": 7})},
                              "parameters": [{"name": "petId", "in": "path", "required": True,
                                              "schema": {"type": "integer", "minimum": 1}}]}},
    "/pets": {"post": {"operationId": "addPet", "summary": "Add a pet", "responses": {"201": _ok()},
                       "requestBody": {"content": {"application/json": {"schema": {
                           "type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}}}}},
              "delete": {"summary": "Remove every pet", "responses": {"500": {"description": "nope"}}}}}}



def test_openapi_corpus_uses_its_hints_and_the_mock(tmp_path):
    spec = tmp_path / "pets.json"
    hints = {"request_templates": {"getPet": ["Show me pet number {petId}."]}, "value_pools": {"name": ["Rex", "Tom", "Bella"]}}
    spec.write_text(json.dumps({**PETS, "x-simulacra": hints}))
    api = load_api(spec)
    res = build_calls(api, 30, seed=1, mix={"single": 1.0})
    assert all(st.balanced for st in res.stages)
    # delete_pets has no success response: its calls fail execution and are kept apart with the reason
    assert any(r["_stage"] == "execution" and "no success response" in r["_reason"] for r in res.filtered)
    texts = [r["request"] for r in res.records if r["call"]["name"] == "getPet" and set(r["call"]["arguments"]) == {"petId"}]
    assert texts and all(t.startswith("Show me pet number ") for t in texts)
    assert {r["call"]["arguments"]["name"] for r in res.records if r["call"]["name"] == "addPet"} <= {"Rex", "Tom", "Bella"}


def test_a_rephrasing_that_keeps_the_values_but_not_the_request_is_rejected(demo):
    call = {"name": "weekday_of", "arguments": {"date": "2026-05-31"}}
    rows = [{"kind": "single", "index": 0, "call": call, "phrasing": "model", "template_text": "What weekday is May 31st 2026?",
             "request": "How will the date of May 31st 2026 be in Lisbon?"},
            {"kind": "single", "index": 1, "call": call, "phrasing": "model", "template_text": "What weekday is May 31st 2026?",
             "request": "Which weekday falls on May 31st 2026?"}]
    res = TaskResult("calls")
    kept = verify(demo, res, rows, timeout=5)
    assert [r["index"] for r in kept] == [1]
    assert res.filtered[0]["_stage"] == "intent" and "kept 0% of the template's words" in res.filtered[0]["_reason"]


def test_the_judge_is_consulted_only_after_passing_calibration(demo, tmp_path, monkeypatch):
    from simulacra.text.calls.corpus import judge_status

    monkeypatch.setenv("SIMULACRA_CACHE_DIR", str(tmp_path))
    eng = Engine("fake")
    assert judge_status(eng)[0] is False and "no judge calibration" in judge_status(eng)[1]
    cal = {"mode": "score", "accuracy": 0.6, "passed": True, "threshold": 0.0}
    (tmp_path / "judge-calibration.json").write_text(json.dumps({eng.model_id: {"score": cal}}))
    ok, note = judge_status(eng)
    assert not ok and "60% of the score calibration" in note  # a gate overridden to 0 does not count
    res = build_calls(demo, 20, seed=1, engine=eng, model_share=0.0)
    assert not any(st.name == "judge" for st in res.stages) and res.config["judge_consulted"] is False
    (tmp_path / "judge-calibration.json").write_text(json.dumps({eng.model_id: {"score": {**cal, "accuracy": 0.9}}}))
    res = build_calls(demo, 20, seed=1, engine=eng, model_share=0.0)
    judged = [st for st in res.stages if st.name == "judge"]
    assert judged and res.config["judge_consulted"] is True and all(st.balanced for st in res.stages)
    assert all(r.get("judge_score", 10) >= 6 for r in res.records)
    assert any(r["_stage"] == "judge" for r in res.filtered)  # the fake judge scores at random: some fail


def test_paraphrase_examples_come_from_the_apis_own_templates(demo):
    from simulacra.text.calls.phrasing import paraphrase_request, template_pairs

    pairs = template_pairs(demo, np.random.default_rng(3), 3)
    assert len(pairs) == 3 and all(a != b for a, b in pairs)
    for a, b in pairs:  # the same values on both sides, so the examples show a value-preserving rewrite
        assert set(numbers_in(a)) - {1.0} == set(numbers_in(b)) - {1.0} and dates_in(a) == dates_in(b)  # "a" reads as 1
    prompt = paraphrase_request("What weekday is May 31st 2026?", 1, examples=pairs).raw_prompt
    assert prompt.count("Request:") == 5 and prompt.endswith("Request: What weekday is May 31st 2026?\nRewritten:")
    assert all(a in prompt for a, _ in pairs)
