"""What a network failure was (host, HTTP status or connection error) and how long lpack waits.

Shared by both sides of the worker protocol: the worker classifies what pip and its HTTP
stack raised or logged; the client turns the classified failures into a NetworkError. No
pip import here: pip's words are read as text and attributes, which survive its releases.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from lpack.errors import ConfigError

# pip's own defaults (15 s, 5 retries with back-off) let an index that never answers
# hold a lock for about 98 s; lpack's bound is about (retries + 1) x timeout.
DEFAULT_TIMEOUT = 10.0
DEFAULT_RETRIES = 2
TIMEOUT_VARIABLE = "LPACK_NETWORK_TIMEOUT"
RETRIES_VARIABLE = "LPACK_NETWORK_RETRIES"


@dataclass(frozen=True)
class NetworkLimits:
    """How long one request may wait for the index, and how often a failure is retried."""

    timeout: float = DEFAULT_TIMEOUT  # seconds without a byte, per attempt
    retries: int = DEFAULT_RETRIES

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> NetworkLimits:
        env = os.environ if environ is None else environ
        timeout, retries = env.get(TIMEOUT_VARIABLE), env.get(RETRIES_VARIABLE)
        return cls(
            _parse(TIMEOUT_VARIABLE, timeout, float, 0.001) if timeout else DEFAULT_TIMEOUT,
            int(_parse(RETRIES_VARIABLE, retries, int, 0)) if retries else DEFAULT_RETRIES,
        )

    @property
    def attempts(self) -> int:
        return self.retries + 1

    def pip_args(self) -> list[str]:
        """Given on pip's command line, so they win over pip.conf and PIP_DEFAULT_TIMEOUT."""
        return ["--timeout", f"{self.timeout:g}", "--retries", str(self.retries)]

    def describe(self) -> str:
        return (
            f"lpack waits {self.timeout:g} s for an answer and tries {self.attempts} times "
            f"({TIMEOUT_VARIABLE}, {RETRIES_VARIABLE})"
        )


def _parse(name: str, text: str, kind: type, minimum: float) -> float:
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value) or value < minimum:
        wanted = "a number of seconds above 0" if kind is float else "a whole number, 0 or more"
        raise ConfigError(f"{name}={text!r} is not {wanted}.", hint=f"unset {name} or fix it.")
    return float(value)


@dataclass(frozen=True)
class NetworkFailure:
    """One request that failed: where it went and what came back (or did not)."""

    url: str  # credentials removed
    reason: str  # "answered HTTP 500 Internal Server Error", "refused the connection", ...
    status: int | None = None  # the HTTP status, when the server answered
    attempts: int = 1  # how many requests ended this way

    @property
    def host(self) -> str:
        """host:port, as the user would look it up in their index settings."""
        parts = urlsplit(self.url)
        host = parts.hostname or parts.netloc or self.url
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
        return f"{host}:{port}" if port else host

    @property
    def project(self) -> str | None:
        """The project whose index page this was (…/simple/<project>/), else None."""
        match = re.search(r"/([^/]+)/?$", urlsplit(self.url).path)
        return match.group(1).lower() if match and "." not in match.group(1) else None

    @property
    def not_found(self) -> bool:
        """The index answered that it has no such page: an answer, not a failure to reach it."""
        return self.status in (404, 410)

    def describe(self) -> str:
        return f"{self.host} {self.reason} ({self.url})"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> NetworkFailure:
        status, attempts = data.get("status"), data.get("attempts")
        return cls(
            str(data.get("url", "")),
            str(data.get("reason", "")),
            status if isinstance(status, int) else None,
            attempts if isinstance(attempts, int) else 1,
        )


_TIMEOUT = re.compile(r"timed out|didn't respond within|timeout", re.I)
_REFUSED = re.compile(r"connection refused|errno 111\b", re.I)
_NO_HOST = re.compile(
    r"name or service not known|temporary failure in name resolution|failed to resolve|"
    r"nodename nor servname|getaddrinfo failed|no address associated",
    re.I,
)
_DROPPED = re.compile(
    r"connection (reset|aborted)|remote ?disconnected|incompleteread|"
    r"connection broken|chunkedencodingerror|protocolerror|errno 104\b",
    re.I,
)
# The answers pip's session retries by itself (the others are final at the first attempt).
RETRIED_STATUSES = frozenset({500, 502, 503, 520, 527})
_STATUS_IN_TEXT = re.compile(r"too many (\d{3}) error responses|^(\d{3}) (client|server) error")


def classify(url: str, error: object, limits: NetworkLimits) -> NetworkFailure:
    """What went wrong fetching url, from the exception (or pip's text) it failed with."""
    text = _text_of(error)
    status = getattr(getattr(error, "response", None), "status_code", None)
    match = _STATUS_IN_TEXT.search(text)
    if not isinstance(status, int) and match:
        status = int(match.group(1) or match.group(2))
    if isinstance(status, int):
        try:
            phrase = f" {HTTPStatus(status).phrase}"
        except ValueError:
            phrase = ""
        attempts = limits.attempts if status in RETRIED_STATUSES else 1
        return NetworkFailure(_redact(url), f"answered HTTP {status}{phrase}", status, attempts)
    if _TIMEOUT.search(text):
        reason = f"did not answer within {limits.timeout:g} s"
    elif _REFUSED.search(text):
        reason = "refused the connection; nothing listens on that port"
    elif _NO_HOST.search(text):
        reason = "could not be found (its name does not resolve)"
    elif "proxy" in text.lower():
        reason = f"could not be reached through the proxy: {_short(text)}"
    elif re.search(r"ssl|certificate|tls", text, re.I):
        reason = f"failed the TLS handshake: {_short(text)}"
    elif _DROPPED.search(text):
        reason = "dropped the connection before the file was complete"
    else:
        reason = f"could not be reached: {_short(text)}"
    return NetworkFailure(_redact(url), reason, None, limits.attempts)


# The exception classes (by name, across pip's and its vendored libraries' releases) that mean
# "the network or the index failed", as opposed to a bug or a local file-system error.
_NETWORK_CLASSES = {
    "NetworkConnectionError",
    "ConnectionFailedError",
    "ConnectionTimeoutError",
    "ProxyConnectionError",
    "SSLVerificationError",
    "RequestException",  # requests' root: ConnectionError, HTTPError, Timeout, RetryError
    "HTTPError",  # urllib3's root: MaxRetryError, ProtocolError, ReadTimeoutError
    "RemoteDisconnected",
    "IncompleteRead",
    "ConnectionError",  # the built-in one too: refused, reset, aborted
    "TimeoutError",
    "gaierror",  # a host name that does not resolve
}


def network_cause(exc: BaseException) -> BaseException | None:
    """The network failure behind exc (itself, or what it was raised from), if there is one."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if any(k.__name__ in _NETWORK_CLASSES for k in type(current).__mro__):
            return current
        current = current.__cause__ or current.__context__
    return None


def url_of(error: BaseException) -> str | None:
    """The URL a network exception names (requests' request, or pip's url attribute)."""
    request = getattr(error, "request", None)
    url = getattr(request, "url", None) or getattr(error, "url", None)
    if isinstance(url, str):
        return url
    match = re.search(r"https?://[^\s'\")]+", _text_of(error))
    return match.group(0) if match else None


class NetworkFailed(Exception):
    """The worker could not reach the index, or the index failed, for a package."""

    def __init__(self, package: str | None, failures: list[NetworkFailure], during: str) -> None:
        super().__init__("; ".join(f.describe() for f in failures))
        self.package, self.failures, self.during = package, failures, during

    def event(self) -> dict[str, Any]:
        """The worker protocol's "network" error (read back by diagnose.network_error)."""
        return {
            "kind": "network",
            "package": self.package,
            "during": self.during,  # "resolve" or "download"
            "failures": [f.to_json() for f in self.failures],
        }


class FetchFailureLog(logging.Handler):
    """The index pages pip could not fetch. pip logs such a failure and carries on as if the
    project had no files at all, which would then read as "not found on the index"."""

    LOGGER = "pip._internal.index.collector"

    def __init__(self, limits: NetworkLimits) -> None:
        super().__init__(logging.DEBUG)
        self.limits = limits
        self.failures: list[NetworkFailure] = []

    def install(self) -> None:
        logger = logging.getLogger(self.LOGGER)
        logger.addHandler(self)
        logger.setLevel(logging.DEBUG)  # pip logs most of these at debug level

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args
        if str(record.msg).startswith("Could not fetch URL") and isinstance(args, tuple):
            if len(args) == 2:
                self.failures.append(classify(str(args[0]), args[1], self.limits))

    def unreachable(self, project: str | None = None) -> list[NetworkFailure]:
        """Failures that were not the index answering "no such project" (for one project,
        or for any when project is None)."""
        wanted = _canonical(project) if project else None
        return [
            f
            for f in self.failures
            if not f.not_found and (wanted is None or _canonical(f.project or "") == wanted)
        ]

    def not_found(self) -> list[NetworkFailure]:
        return [f for f in self.failures if f.not_found]


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _text_of(error: object) -> str:
    text = str(error)
    context = getattr(error, "context", None)  # pip's diagnostic errors keep the cause here
    if context is not None:
        text += f" {context}"
    return text


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 200 else text[:199] + "…"


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))
