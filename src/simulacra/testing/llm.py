"""Deterministic stand-ins for LLMs, for tests (yours and ours).

:class:`FakeBackend` answers in-process: the same request always gets the same answer, structured
requests get a value valid under their JSON Schema. :class:`FakeOpenAIServer` is a local
OpenAI-compatible HTTP server on 127.0.0.1 with a fixed latency and, on purpose, HTTP 429/500 faults, to
test clients against a real socket without reaching outside the machine.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from simulacra.text.types import ChatRequest, Completion, stable_hash

from simulacra.text.backends.fake import FakeBackend, example_from_schema  # noqa: F401 (re-exported)


DROP, GARBAGE, HANG, NO_CHOICES, TRUNCATED, CONTROL = 0, 1, 2, 3, 4, 5
MISBEHAVIOURS = {DROP: "drop", GARBAGE: "garbage", HANG: "hang", NO_CHOICES: "no choices", TRUNCATED: "truncated",
                 CONTROL: "control characters"}


class FakeOpenAIServer:
    """A local OpenAI-compatible chat server (127.0.0.1, a free port) for client tests.

    Parameters
    ----------
    latency
        Seconds each request takes (requests are served by concurrent threads).
    fault_rate
        Probability that a request is answered with an HTTP error instead (half 429 with
        ``Retry-After``, half 500), drawn from ``seed``.
    faults
        Alternatively, a fixed cyclic pattern of outcomes, one per request received: an HTTP status (200 =
        answer) or one of the misbehaviours :data:`DROP` (close the connection without an answer),
        :data:`GARBAGE` (200 with a body that is not JSON), :data:`HANG` (accept and never answer, until
        the server stops), :data:`NO_CHOICES` (200 with valid JSON that is not a completion),
        :data:`TRUNCATED` (200 with a cut JSON body), :data:`CONTROL` (200 whose content holds raw control
        characters).
    retry_after
        The ``Retry-After`` value (seconds) sent with 429.
    reject_json_schema
        Answer 500 to ``response_format={"type": "json_schema"}``, as llama-cpp-python's server does.

    Use it as a context manager; ``url`` is the ``base_url`` for clients, ``statuses`` counts answers,
    ``max_in_flight`` the highest number of concurrent requests seen.

    Examples
    --------
    >>> import urllib.request
    >>> with FakeOpenAIServer() as srv:
    ...     body = urllib.request.urlopen(srv.url + "/models").read()
    >>> json.loads(body)["data"][0]["id"]
    'fake-model'
    """

    def __init__(self, *, latency: float = 0.0, fault_rate: float = 0.0, faults: Sequence[int] | None = None,
                 retry_after: float = 0.05, seed: int = 0, model: str = "fake-model",
                 reject_json_schema: bool = False) -> None:
        self.latency = latency
        self.fault_rate = fault_rate
        self.faults = list(faults) if faults else None
        self.retry_after = retry_after
        self.model = model
        self.reject_json_schema = reject_json_schema
        self.bodies: list[dict[str, Any]] = []
        self.statuses: Counter[int] = Counter()
        self.received = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:54321/v1``."""
        assert self._server is not None, "start the server first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def _status(self) -> int:
        with self._lock:
            n = self.received
            self.received += 1
            if self.faults:
                return self.faults[n % len(self.faults)]
            if self._rng.random() < self.fault_rate:
                return 429 if self._rng.random() < 0.5 else 500
            return 200

    def reply(self, body: dict[str, Any]) -> dict[str, Any]:
        """The deterministic chat completion answering ``body``."""
        messages = body.get("messages", [])
        fmt = body.get("response_format") or {}
        schema = fmt.get("schema") or (fmt.get("json_schema") or {}).get("schema")
        rng = random.Random(stable_hash([messages, body.get("seed"), schema]))
        if schema:
            text = json.dumps(example_from_schema(schema, rng))
        else:
            last = messages[-1]["content"] if messages else ""
            text = f"echo: {last[:60]}"
        return {
            "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()), "model": self.model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": len(text.split()), "total_tokens": 10 + len(text.split())},
        }

    def __enter__(self) -> FakeOpenAIServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start serving in a background thread."""
        self._stopping.clear()
        self._server = _QuietServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the server (requests left hanging are let go)."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class _QuietServer(ThreadingHTTPServer):
    """No traceback on stderr when a client hangs up mid-answer (tests make them do so on purpose)."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        return


def _handler(srv: FakeOpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            return

        def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            try:
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (its timeout): nothing to do
                pass

        def _raw(self, data: bytes, content_type: str = "application/json") -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            try:
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def _misbehave(self, kind: int, body: dict[str, Any]) -> None:
            if kind == DROP:
                self.close_connection = True
                try:
                    self.connection.shutdown(2)
                except OSError:
                    pass
            elif kind == HANG:
                srv._stopping.wait()
                self.close_connection = True
            elif kind == GARBAGE:
                self._raw(b"<html><body>502 Bad Gateway (but sent as 200)</body></html>", "text/html")
            elif kind == NO_CHOICES:
                self._raw(json.dumps({"object": "chat.completion", "choices": []}).encode())
            elif kind == TRUNCATED:
                self._raw(json.dumps(srv.reply(body)).encode()[:40])
            else:  # CONTROL: raw control characters inside the JSON strings of the content
                reply = srv.reply(body)
                text = reply["choices"][0]["message"]["content"]
                reply["choices"][0]["message"]["content"] = text.replace('": "', '": "\x01\x02', 1)
                self._raw(json.dumps(reply).encode())

        def do_GET(self) -> None:  # noqa: N802
            self._send(200, {"object": "list", "data": [{"id": srv.model, "object": "model"}]})

        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            with srv._lock:
                srv.bodies.append(body)
            if srv.reject_json_schema and (body.get("response_format") or {}).get("type") == "json_schema":
                self._send(500, {"error": {"message": "json_schema response_format not supported"}})
                return
            with srv._lock:
                srv.in_flight += 1
                srv.max_in_flight = max(srv.max_in_flight, srv.in_flight)
            try:
                if srv.latency:
                    time.sleep(srv.latency)
                status = srv._status()
            finally:
                with srv._lock:
                    srv.in_flight -= 1
            with srv._lock:
                srv.statuses[status] += 1
            if status in MISBEHAVIOURS:
                self._misbehave(status, body)
            elif status == 200:
                self._send(200, srv.reply(body))
            elif status == 429:
                self._send(429, {"error": {"message": "rate limited", "type": "rate_limit"}},
                           {"Retry-After": f"{srv.retry_after:g}"})
            else:
                self._send(status, {"error": {"message": "injected failure", "type": "server_error"}})

    return Handler


__all__ = ["CONTROL", "DROP", "GARBAGE", "HANG", "MISBEHAVIOURS", "NO_CHOICES", "TRUNCATED", "FakeBackend",
           "FakeOpenAIServer", "check_backend", "example_from_schema"]


def check_backend(backend: Any, *, structured: bool = True, max_tokens: int = 24) -> None:
    """Check that ``backend`` keeps the backend contract; raises AssertionError naming the broken rule.

    Rules: it has ``model_id`` and ``supports_schema``; ``complete`` answers every request in order,
    calls ``on_result`` once per index, reports failures as ``Completion.error`` instead of raising,
    and the same request with the same seed gives the same text; with ``structured``, a schema request
    gives JSON that validates.

    Examples
    --------
    >>> check_backend(FakeBackend())
    """
    from simulacra.text.schema import extract_json, validation_errors, validator

    assert isinstance(getattr(backend, "model_id", None), str) and backend.model_id, "model_id must be a non-empty string"
    assert isinstance(getattr(backend, "supports_schema", None), bool), "supports_schema must be a bool"
    reqs = [ChatRequest.user(f"Say the word number {i}.", max_tokens=max_tokens, seed=i) for i in range(3)]
    seen: list[int] = []
    out = backend.complete(reqs, on_result=lambda i, c: seen.append(i))
    assert len(out) == len(reqs), "complete() must return one Completion per request"
    assert all(isinstance(c, Completion) for c in out), "complete() must return Completion objects"
    assert sorted(seen) == [0, 1, 2], f"on_result must be called once per request index, got {seen}"
    assert all(c.ok for c in out), f"a healthy backend returned errors: {[c.error for c in out]}"
    again = backend.complete(reqs[:1])
    assert again[0].text == out[0].text, "the same request and seed must give the same text"
    if structured:
        schema = {"type": "object", "properties": {"word": {"type": "string", "maxLength": 20},
                  "n": {"type": "integer"}}, "required": ["word", "n"], "additionalProperties": False}
        res = backend.complete([ChatRequest.user("A word and a number, as JSON.", schema=schema, max_tokens=48, seed=1)])[0]
        value = extract_json(res.text)
        assert not validation_errors(value, validator(schema)), f"structured output does not validate: {res.text!r}"


def _serve(argv: Sequence[str] | None = None) -> None:
    """``python -m simulacra.testing.llm --latency 0.5``: run a FakeOpenAIServer in its own process."""
    import argparse

    ap = argparse.ArgumentParser(description="A local fake OpenAI-compatible server (127.0.0.1) for tests and benchmarks.")
    ap.add_argument("--latency", type=float, default=0.0)
    ap.add_argument("--fault-rate", type=float, default=0.0)
    ap.add_argument("--retry-after", type=float, default=0.05)
    args = ap.parse_args(argv)
    srv = FakeOpenAIServer(latency=args.latency, fault_rate=args.fault_rate, retry_after=args.retry_after)
    srv.start()
    print(srv.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        srv.stop()


if __name__ == "__main__":  # pragma: no cover
    _serve()
