"""An on-disk response cache (sqlite3): the key is a hash of model, messages, parameters, schema and seed.

Each answer is committed as soon as it arrives, so an interrupted run loses nothing already generated
and a rerun of a finished job makes zero model calls.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

from simulacra.text.types import Completion

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    text TEXT NOT NULL,
    meta TEXT NOT NULL,
    created REAL NOT NULL
)
"""


class ResponseCache:
    """A persistent map from request keys to completions; ``":memory:"`` keeps it in memory.

    Examples
    --------
    >>> cache = ResponseCache(":memory:")
    >>> cache.put("k", "m", Completion("hello", completion_tokens=1))
    >>> cache.get("k").text, cache.get("k").cached, cache.get("other")
    ('hello', True, None)
    >>> len(cache)
    1
    """

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        if self.path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)
        self._db.commit()

    def get(self, key: str) -> Completion | None:
        """The cached completion for ``key``, or None."""
        with self._lock:
            row = self._db.execute("SELECT text, meta FROM responses WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        meta = json.loads(row[1])
        return Completion(
            text=row[0],
            prompt_tokens=int(meta.get("prompt_tokens", 0)),
            completion_tokens=int(meta.get("completion_tokens", 0)),
            finish_reason=str(meta.get("finish_reason", "stop")),
            cached=True,
            seconds=float(meta.get("seconds", 0.0)),
        )

    def get_many(self, keys: list[str]) -> dict[str, Completion]:
        """Cached completions for those of ``keys`` that are present."""
        out: dict[str, Completion] = {}
        for key in dict.fromkeys(keys):
            hit = self.get(key)
            if hit is not None:
                out[key] = hit
        return out

    def put(self, key: str, model: str, completion: Completion) -> None:
        """Store ``completion`` (errors are never cached: a rerun tries them again)."""
        if completion.error is not None:
            return
        meta = {
            "prompt_tokens": completion.prompt_tokens,
            "completion_tokens": completion.completion_tokens,
            "finish_reason": completion.finish_reason,
            "seconds": completion.seconds,
        }
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO responses (key, model, text, meta, created) VALUES (?, ?, ?, ?, ?)",
                (key, model, completion.text, json.dumps(meta), time.time()),
            )
            self._db.commit()

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()


__all__ = ["ResponseCache"]
