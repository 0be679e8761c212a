"""A package index that fails on purpose: answers an HTTP error, answers slowly, or never.

It serves the same files as conftest's `index` fixture, so a lock made against the good
index can be fetched from this one (and fail there as asked).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class Fault:
    """What the index does to requests whose path starts with `under`."""

    mode: str = "ok"  # ok | status | slow | hang
    status: int = 500
    delay: float = 0.0  # seconds before a "slow" answer
    under: str = "/"  # "/simple/" (index pages) or "/files/" (the wheels)


class FaultyHandler(SimpleHTTPRequestHandler):
    fault: Fault
    release: threading.Event  # set at shutdown: a hung request then ends
    requests: list[str]

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.requests.append(self.path)
        fault = self.fault
        if fault.mode != "ok" and self.path.startswith(fault.under):
            if fault.mode == "status":
                self.send_error(fault.status)
                return
            if fault.mode == "hang":  # the connection is accepted, no byte ever comes
                self.release.wait()
                self.close_connection = True
                return
            if fault.mode == "slow":
                time.sleep(fault.delay)
        super().do_GET()


@dataclass
class FaultyIndex:
    url: str  # for PIP_INDEX_URL
    host: str  # "127.0.0.1:PORT", as error messages name it
    fault: Fault
    requests: list[str]


@contextmanager
def faulty_index(root: Path, fault: Fault) -> Iterator[FaultyIndex]:
    """Serve root (a make_index folder) with the fault, on a port of its own."""
    release = threading.Event()
    requests: list[str] = []
    attrs = {"fault": fault, "release": release, "requests": requests}
    handler = type("Handler", (FaultyHandler,), attrs)
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(root)))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    try:
        yield FaultyIndex(f"http://127.0.0.1:{port}/simple", f"127.0.0.1:{port}", fault, requests)
    finally:
        release.set()
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    """A local port nothing listens on: connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
