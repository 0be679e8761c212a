"""Streams one file from the index into the wheel cache, hashing it on the way (worker side).

Runs in the pip worker with pip's session, whose adapters already retry a refused or timed-out
connection and a 5xx answer: only a connection that drops mid-body is retried here. A failure
to write the cache (a full disk) is the file system's, never retried or called a network one.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from lpack.resolve.cache import CHUNK, WheelCache
from lpack.resolve.network import NetworkFailed, NetworkLimits, classify, network_cause

OnRetry = Callable[[str, int, str], None]  # url, attempt, what failed
# size (the Content-Length, None when the index sends none) at the start of an attempt,
# then the bytes received since the last call (negative: an attempt failed and restarts).
OnBytes = Callable[[int | None, int], None]


class HashMismatch(Exception):
    def __init__(self, url: str, got: str, expected: set[str]) -> None:
        super().__init__(url)
        self.url, self.got, self.expected = url, got, expected


class _BodyFailed(Exception):
    """The connection failed while the body streamed: worth another attempt."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(str(cause))
        self.cause = cause


def download(
    session: Any,
    url: str,
    package: str,
    cache: WheelCache,
    expected: set[str],
    limits: NetworkLimits,
    on_retry: OnRetry | None = None,
    on_bytes: OnBytes | None = None,
) -> tuple[Path, str]:
    """Stream url (a file of package) into the cache's temp area; the temp file and its
    sha256. NetworkFailed when the index cannot be reached or fails; nothing is kept."""
    for attempt in range(1, limits.attempts + 1):
        fh, tmp = cache.open_temp()
        received = [0]
        try:
            with fh:
                digest = _stream(session, url, fh, limits, _counting(on_bytes, received))
        except _BodyFailed as exc:
            tmp.unlink(missing_ok=True)
            if on_bytes is not None:
                on_bytes(None, -received[0])  # the next attempt starts from nothing
            if attempt == limits.attempts:
                failure = replace(classify(url, exc.cause, limits), attempts=attempt)
                raise NetworkFailed(package, [failure], "download") from exc.cause
            if on_retry:
                on_retry(url, attempt, f"{type(exc.cause).__name__}: {exc.cause}")
            time.sleep(min(0.5 * 2 ** (attempt - 1), 4))
            continue
        except Exception as exc:
            tmp.unlink(missing_ok=True)
            if network_cause(exc) is None:  # the cache's disk (full?), or a bug: not the network
                if isinstance(exc, OSError) and exc.filename is None:
                    exc.filename = str(cache.root)  # a failed write names no file by itself
                raise
            # pip's session retried this one already (or it was an answer, like a 404).
            raise NetworkFailed(package, [classify(url, exc, limits)], "download") from exc
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        if expected and digest not in expected:
            tmp.unlink(missing_ok=True)
            raise HashMismatch(url, digest, expected)
        return tmp, digest
    raise AssertionError("unreachable: the last attempt returns or raises")


def _counting(on_bytes: OnBytes | None, received: list[int]) -> OnBytes | None:
    if on_bytes is None:
        return None

    def count(size: int | None, amount: int) -> None:
        received[0] += amount
        on_bytes(size, amount)

    return count


def _stream(
    session: Any, url: str, fh: Any, limits: NetworkLimits, on_bytes: OnBytes | None = None
) -> str:
    response = session.get(url, stream=True, timeout=limits.timeout)
    try:  # closed on every path: a body that fails half-way must not hold its connection
        response.raise_for_status()
        if on_bytes is not None:
            length = response.headers.get("Content-Length", "")
            on_bytes(int(length) if length.isdigit() else None, 0)
        h = hashlib.sha256()
        for chunk in _body(response):
            h.update(chunk)
            fh.write(chunk)  # an OSError here is the disk's: it propagates as itself
            if on_bytes is not None:
                on_bytes(None, len(chunk))
        return h.hexdigest()
    finally:
        response.close()


def _body(response: Any) -> Iterator[bytes]:
    chunks = response.iter_content(CHUNK)
    while True:
        try:
            chunk = next(chunks, None)
        except Exception as exc:
            raise _BodyFailed(exc) from exc
        if chunk is None:
            return
        yield chunk
