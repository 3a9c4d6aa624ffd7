"""Concurrency control and retry timing for HTTP backends.

:class:`AdaptiveLimiter` caps the number of requests in flight and slows down on HTTP 429: the cap is
halved and every request waits out the server's ``Retry-After``; after successes it grows back by one
slot per "window" (additive increase, multiplicative decrease).
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time


class AdaptiveLimiter:
    """An async concurrency cap that halves on rate limiting and recovers additively.

    Examples
    --------
    >>> lim = AdaptiveLimiter(8)
    >>> lim.on_rate_limited(None); lim.limit
    4.0
    >>> for _ in range(8): lim.on_success()
    >>> round(lim.limit, 1)
    5.7
    """

    def __init__(self, cap: int) -> None:
        self.cap = max(1, int(cap))
        self.limit = float(self.cap)
        self.in_flight = 0
        self.pause_until = 0.0
        self.rate_limited = 0
        self._cond: asyncio.Condition | None = None

    def _condition(self) -> asyncio.Condition:
        if self._cond is None:
            self._cond = asyncio.Condition()
        return self._cond

    async def acquire(self) -> None:
        """Wait for a free slot and for any Retry-After pause to end."""
        cond = self._condition()
        while True:
            delay = self.pause_until - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
                continue
            async with cond:
                if self.in_flight < max(1, int(self.limit)):
                    self.in_flight += 1
                    return
                await cond.wait()

    async def release(self) -> None:
        """Give a slot back."""
        cond = self._condition()
        async with cond:
            self.in_flight -= 1
            cond.notify_all()

    def on_success(self) -> None:
        """Grow the cap by one slot per ``limit`` successes, up to ``cap``."""
        self.limit = min(float(self.cap), self.limit + 1.0 / max(self.limit, 1.0))

    def on_rate_limited(self, retry_after: float | None) -> None:
        """Halve the cap and pause every request for ``retry_after`` seconds."""
        self.rate_limited += 1
        self.limit = max(1.0, self.limit / 2.0)
        if retry_after:
            self.pause_until = max(self.pause_until, time.monotonic() + retry_after)


def backoff_delay(attempt: int, base: float = 0.5, cap: float = 30.0, rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter: uniform in ``[d/2, d]`` where ``d = min(cap, base * 2**attempt)``.

    Examples
    --------
    >>> 0.25 <= backoff_delay(0) <= 0.5 and 2.0 <= backoff_delay(3) <= 4.0
    True
    """
    d = min(cap, base * (2.0**attempt))
    return (rng or random).uniform(d / 2.0, d)


def parse_retry_after(value: str | None, cap: float = 120.0) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date), capped.

    Examples
    --------
    >>> parse_retry_after("2"), parse_retry_after(None), parse_retry_after("nonsense")
    (2.0, None, None)
    """
    if not value:
        return None
    try:
        return min(cap, max(0.0, float(value)))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return min(cap, max(0.0, when.timestamp() - time.time()))


__all__ = ["AdaptiveLimiter", "backoff_delay", "parse_retry_after"]
