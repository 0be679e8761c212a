"""An index that is down, answers an error, or hangs is reported as a network failure: the
host, what it answered (or that it did not), the package, within lpack's own time bound.

Never "not found on the package index" or "the lock is stale" for these: those send the
user to fix requirements or locks that are fine.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path

import pytest
from conftest import Index, Run, make_project, run_lpack
from faulty_index import Fault, closed_port, faulty_index
from test_json_output import schema_validator

from lpack.errors import ConfigError
from lpack.resolve.network import NetworkLimits, classify

OUTPUT_SCHEMA = schema_validator("lpack-output-v1.json")
HOST = f"python3.{sys.version_info[1]}"
# Small bounds keep the suite fast: every failing request costs at most 2 x 1 s.
FAST = {"LPACK_NETWORK_TIMEOUT": "1", "LPACK_NETWORK_RETRIES": "1"}
MISLEADING = ("not found on the package index", "lock is stale", "internal error", "Traceback")


def lock(project: Path, index_url: str, **env: str) -> Run:
    extra = {**FAST, "PIP_INDEX_URL": index_url, **env}
    return run_lpack("lock", str(project), "--runtime", HOST, "--format", "json", env=extra)


def build(project: Path, index_url: str, *args: str, **env: str) -> Run:
    extra = {**FAST, "PIP_INDEX_URL": index_url, **env}
    return run_lpack("build", str(project), "--runtime", HOST, "--format", "json", *args, env=extra)


def network_error(r: Run, *expected: str) -> str:
    """The NetworkError's message, once every guarantee of a network failure is checked."""
    assert r.rc == 2, (r.stdout, r.stderr)
    document = json.loads(r.stdout)  # stdout holds one JSON document, nothing else
    OUTPUT_SCHEMA.validate(document)
    error = document["error"]
    assert error["type"] == "NetworkError", error
    assert error["exit_code"] == 2
    assert "PIP_INDEX_URL" in error["hint"] and "LPACK_NETWORK_TIMEOUT" in error["hint"]
    for text in expected:
        assert text in error["message"], (text, error["message"])
    for text in MISLEADING:
        assert text not in r.stdout + r.stderr, text
    return str(error["message"])


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (500, ("HTTP 500 Internal Server Error", "gamma", "after 2 attempts")),
        (403, ("HTTP 403 Forbidden", "gamma", "on the first attempt")),
    ],
)
def test_index_answering_an_error_is_named_with_host_status_and_package(
    tmp_path: Path, lpack_env: dict, index: Index, status: int, expected: tuple[str, ...]
) -> None:
    project = make_project(tmp_path / "fn", "gamma\n")
    with faulty_index(index.root, Fault("status", status=status)) as bad:
        r = lock(project, bad.url)
    network_error(r, bad.host, *expected)
    assert not (project / "lpack.lock").exists()
    # Refused access is about credentials, not the index being down.
    assert ("credentials" in r.json["error"]["hint"]) is (status == 403)


def test_refused_connection_is_a_network_failure(tmp_path: Path, lpack_env: dict) -> None:
    project = make_project(tmp_path / "fn", "gamma\n")
    port = closed_port()
    r = lock(project, f"http://127.0.0.1:{port}/simple")
    network_error(r, f"127.0.0.1:{port}", "refused the connection", "gamma")


def test_index_that_never_answers_fails_within_lpacks_bound(
    tmp_path: Path, lpack_env: dict, index: Index
) -> None:
    project = make_project(tmp_path / "fn", "gamma\n")
    with faulty_index(index.root, Fault("hang")) as bad:
        started = time.monotonic()
        r = lock(project, bad.url)
        elapsed = time.monotonic() - started
    network_error(r, bad.host, "did not answer within 1 s", "gamma")
    assert elapsed < 20, elapsed  # 2 attempts x 1 s, plus start-up; pip's own: 98 s


def test_slow_index_within_the_timeout_still_locks(
    tmp_path: Path, lpack_env: dict, index: Index
) -> None:
    project = make_project(tmp_path / "fn", "gamma\n")
    with faulty_index(index.root, Fault("slow", delay=0.5)) as slow:
        r = lock(project, slow.url, LPACK_NETWORK_TIMEOUT="5")
    assert r.rc == 0, r.stderr
    assert "gamma==1.0" in (project / "lpack.lock").read_text()


def test_index_answering_404_says_not_found_and_names_the_url(
    tmp_path: Path, lpack_env: dict, index: Index
) -> None:
    project = make_project(tmp_path / "fn", "gamma\n")
    with faulty_index(index.root, Fault("status", status=404)) as bad:
        r = lock(project, bad.url)
    assert r.rc == 2
    error = r.json["error"]
    assert error["type"] == "LockError"  # an answer: the index has no such project
    assert "not found on the package index" in error["message"]
    assert f"http://{bad.host}/simple/gamma/ answered HTTP 404" in error["message"]
    assert "index URL" in error["hint"]


def _built(project: Path) -> tuple[Path, str]:
    r = run_lpack("build", str(project), "--runtime", HOST, "--format", "json")
    assert r.rc == 0, r.stderr
    zip_path = Path(r.json["output"]["path"])
    return zip_path, hashlib.sha256(zip_path.read_bytes()).hexdigest()


def _assert_untouched(zip_path: Path, digest: str, cache: Path) -> None:
    assert hashlib.sha256(zip_path.read_bytes()).hexdigest() == digest  # the previous zip
    assert [p.name for p in zip_path.parent.iterdir()] == [zip_path.name]  # no temp file
    assert not list(cache.rglob("gamma-*.whl"))
    downloads = cache / "tmp"
    assert not downloads.exists() or not list(downloads.iterdir())  # no partial download


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (Fault("status", status=503, under="/simple/"), ("HTTP 503", "gamma==1.0")),
        (
            Fault("status", status=500, under="/files/"),
            ("HTTP 500", "downloading gamma==1.0", "gamma-1.0-py3-none-any.whl failed after 2"),
        ),
        (Fault("hang", under="/files/"), ("did not answer within 1 s", "gamma==1.0")),
    ],
    ids=["index-page-503-not-a-stale-lock", "wheel-500-names-the-file", "wheel-hang-bounded"],
)
def test_an_index_failing_at_build_time_is_a_network_failure(
    tmp_path: Path, lpack_env: dict, index: Index, fault: Fault, expected: tuple[str, ...]
) -> None:
    project = make_project(tmp_path / "fn", "gamma\n")
    zip_path, digest = _built(project)
    fresh_cache = tmp_path / "fresh-cache"  # nothing cached: fetch must ask the index
    with faulty_index(index.root, fault) as bad:
        started = time.monotonic()
        # --rebuild: the inputs are those of the zip just built; this build must still fetch.
        r = build(project, bad.url, "--rebuild", LPACK_CACHE_DIR=str(fresh_cache))
        elapsed = time.monotonic() - started
    network_error(r, bad.host, *expected)
    assert elapsed < 20, elapsed
    _assert_untouched(zip_path, digest, fresh_cache)


def test_a_bad_network_setting_is_a_usage_error(tmp_path: Path, lpack_env: dict) -> None:
    project = make_project(tmp_path / "fn", "gamma\n")
    r = run_lpack("lock", str(project), "--format", "json", env={"LPACK_NETWORK_TIMEOUT": "soon"})
    assert r.rc == 2
    assert r.json["error"]["type"] == "ConfigError"
    assert "LPACK_NETWORK_TIMEOUT='soon'" in r.json["error"]["message"]


def test_network_limits_default_and_override() -> None:
    assert NetworkLimits.from_env({}) == NetworkLimits(10.0, 2)
    limits = NetworkLimits.from_env({"LPACK_NETWORK_TIMEOUT": "2.5", "LPACK_NETWORK_RETRIES": "0"})
    assert limits.pip_args() == ["--timeout", "2.5", "--retries", "0"] and limits.attempts == 1
    for bad in ({"LPACK_NETWORK_TIMEOUT": "0"}, {"LPACK_NETWORK_RETRIES": "-1"}):
        with pytest.raises(ConfigError):
            NetworkLimits.from_env(bad)


def test_lpacks_limits_win_over_pips_configured_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    from lpack.resolve._pipworker import make_finder
    from lpack.target import Target

    monkeypatch.setenv("PIP_DEFAULT_TIMEOUT", "180")  # what this kind of machine sets
    monkeypatch.setenv("PIP_RETRIES", "5")
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    target = Target.from_names("python3.12", "x86_64")
    _, _, session, _ = make_finder(target, [], NetworkLimits(3.0, 1).pip_args())
    assert session.timeout == 3.0
    assert session.get_adapter("https://index.invalid/").max_retries.total == 1


@pytest.mark.parametrize(
    "text, reason",
    [
        # pip's newer diagnostic words, then the requests/urllib3 words older pips log.
        ("127.0.0.1 didn't respond within 10.0 seconds", "did not answer within 10 s"),
        ("connection error: [Errno 111] Connection refused", "refused the connection"),
        (
            "HTTPSConnectionPool(host='idx.invalid', port=443): Max retries exceeded with url: "
            "/simple/a/ (Caused by NewConnectionError('<urllib3.connection.HTTPSConnection>: "
            "Failed to establish a new connection: [Errno -2] Name or service not known'))",
            "could not be found (its name does not resolve)",
        ),
        (
            "HTTPConnectionPool(host='127.0.0.1', port=8): Read timed out. (read timeout=10)",
            "did not answer within 10 s",
        ),
        (
            "HTTPConnectionPool(host='127.0.0.1', port=8): Max retries exceeded with url: "
            "/simple/a/ (Caused by ResponseError('too many 502 error responses'))",
            "answered HTTP 502 Bad Gateway",
        ),
        (
            "('Connection broken: IncompleteRead(10 bytes read, 90 more expected)', ...)",
            "dropped the connection",
        ),
    ],
)
def test_failures_are_classified_from_pips_words(text: str, reason: str) -> None:
    failure = classify("https://user:secret@idx.invalid/simple/a/", text, NetworkLimits())
    assert reason in failure.reason
    assert failure.host == "idx.invalid:443" and failure.project == "a"
    assert "secret" not in failure.url  # credentials never reach a message


def test_a_download_failing_mid_resolution_is_a_network_failure() -> None:
    from pip._vendor.requests.exceptions import ConnectionError as RequestsConnectionError

    from lpack.resolve._pipworker import SkipLog, _error_event
    from lpack.resolve.network import FetchFailureLog

    cause = RequestsConnectionError("('Connection aborted.', RemoteDisconnected('closed'))")
    try:
        try:
            raise cause
        except RequestsConnectionError as exc:
            raise RuntimeError("metadata of beta could not be read") from exc
    except RuntimeError as exc:
        event = _error_event(exc, SkipLog(), FetchFailureLog(NetworkLimits()))
    assert event["kind"] == "network" and event["during"] == "resolve"
    assert "dropped the connection" in event["failures"][0]["reason"]
