"""The HTTP backend against llama-cpp-python's real OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

if importlib.util.find_spec("llama_cpp") is None:  # the server's own dependencies come with the llm extra
    pytest.skip("llama-cpp-python not installed (pip install 'simulacra[llm]')", allow_module_level=True)

from simulacra.text.backends.llamacpp import default_model_path
from simulacra.text.backends.openai_http import OpenAIBackend
from simulacra.text.engine import Engine
from simulacra.text.types import ChatRequest


# llama.cpp's server, started so that it loads its model the way the embedded backend does: without the AMX
# kernels of a native build where they are built in (they crash every multi-token prompt on such machines)
_SERVE = ("import runpy, sys\n"
          "from simulacra.text.backends.llamacpp import _has_amx_kernels, _without_extra_buffers\n"
          "sys.argv = ['llama_cpp.server', *sys.argv[1:]]\n"
          "with _without_extra_buffers(_has_amx_kernels()):\n"
          "    runpy.run_module('llama_cpp.server', run_name='__main__', alter_sys=True)\n")


def _server(port: int, log) -> subprocess.Popen:  # type: ignore[type-arg,no-untyped-def]
    return subprocess.Popen([sys.executable, "-c", _SERVE, "--model", str(default_model_path()), "--host", "127.0.0.1",
                             "--port", str(port), "--n_threads", "1", "--n_threads_batch", "1", "--n_ctx", "1024",
                             "--model_alias", "smollm2"], stdout=log, stderr=subprocess.STDOUT)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server_url(tmp_path_factory):
    port = _free_port()
    log = open(tmp_path_factory.mktemp("server") / "server.log", "w+")  # a file: the model loader writes ~2000 lines
    proc = _server(port, log)
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            pytest.fail(f"llama_cpp.server exited: {log.read()[-2000:]}")
        try:
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through a proxy
            opener.open(url + "/models", timeout=2).read()
            break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("llama_cpp.server did not start within 90 s")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def test_chat_and_structured_output_against_real_server(server_url: str) -> None:
    backend = OpenAIBackend(server_url, concurrency=2, timeout=60, max_retries=2, backoff_base=0.1)
    assert backend.model == "smollm2"
    schema = {"type": "object", "properties": {"colour": {"type": "string", "maxLength": 12},
                                               "count": {"type": "integer", "minimum": 1, "maximum": 9}},
              "required": ["colour", "count"], "additionalProperties": False}
    eng = Engine(backend)
    free = eng.complete([ChatRequest.user("Say hello.", max_tokens=5, seed=1)])
    assert free[0].ok and free[0].text and free[0].completion_tokens <= 5
    out = eng.structured([ChatRequest.user("A colour and a count, as JSON.", schema=schema, max_tokens=40, seed=s) for s in (1, 2)])
    assert all(r.ok for r in out), [r.errors for r in out]
    # llama-cpp-python's server answers 500 to OpenAI's json_schema form; the backend switched to json_object + schema
    assert backend.schema_mode == "json_object"


def test_http_backend_keeps_the_contract_against_real_server(server_url: str) -> None:
    from simulacra.testing.llm import check_backend

    check_backend(OpenAIBackend(server_url, concurrency=2, timeout=60, schema_mode="json_object"), max_tokens=4)


def test_long_string_bound_does_not_crash_the_server(server_url: str) -> None:
    # issue 14: a string maxLength above 1,000 (instruct's outputs: 1,200) crashed llama.cpp's server, and the
    # client then retried for minutes; the json_object form now carries a grammar-safe copy of the schema
    from simulacra.text.tasks.instruct import OUTPUT_SCHEMA

    backend = OpenAIBackend(server_url, concurrency=1, timeout=60, max_retries=1, schema_mode="json_object")
    out = Engine(backend).structured([ChatRequest.user("Task: name a colour. Reply as JSON with input and output.",
                                                       schema=OUTPUT_SCHEMA, max_tokens=60, seed=4)], retries=1)
    assert not out[0].backend_failed, out[0].errors
    assert backend.gave_up is None


def test_a_server_that_dies_mid_run_ends_the_run_at_the_deadline(tmp_path) -> None:
    port = _free_port()
    log = open(tmp_path / "server.log", "w+")
    proc = _server(port, log)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                urllib.request.build_opener(urllib.request.ProxyHandler({})).open(url + "/models", timeout=2).read()
                break
            except OSError:
                time.sleep(0.3)
        # warm the server first (model loaded, caches hot), so that on a busy machine the first answer
        # below comes well inside its deadline
        warm = Engine(OpenAIBackend(url, concurrency=1, timeout=60, deadline=120), cache=None)
        assert warm.complete([ChatRequest.user("Warm up.", max_tokens=2, seed=0)])[0].ok
        backend = OpenAIBackend(url, concurrency=1, timeout=30, deadline=6, backoff_base=0.2)
        eng = Engine(backend, cache=tmp_path / "c.sqlite")
        first = eng.complete([ChatRequest.user("Say hello.", max_tokens=4, seed=1)])
        assert first[0].ok
        proc.kill()  # the server dies: the run must stop at its deadline, not retry for minutes
        proc.wait(timeout=10)
        t0 = time.monotonic()
        rest = eng.complete([ChatRequest.user(f"Say hello {i}.", max_tokens=4, seed=i) for i in range(2, 5)])
        assert time.monotonic() - t0 < 20 and all(c.error for c in rest)
        assert backend.gave_up and "gave no answer for 6 s" in backend.gave_up
        assert len(eng.cache) == 1  # the finished answer is kept: a rerun resumes from it
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
