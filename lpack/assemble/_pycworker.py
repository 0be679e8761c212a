"""Compiles Python sources to unchecked-hash .pyc bytes, run by the target's interpreter.

Standalone (the target's Python has no lpack) and valid on every runtime's Python (3.9+).
It first writes who it is; then, for each request on stdin (a name, a source), it writes one
response on stdout: status 0 and the .pyc bytes, or status 1 and why it does not compile.
Frames: request ">II" (name length, source length) + name + source; response ">BI" (status,
length) + payload. It ends at the end of stdin. It never imports or runs what it compiles.
"""

from __future__ import annotations

import importlib.util
import json
import marshal
import struct
import sys
import warnings
from typing import BinaryIO

_REQUEST = struct.Struct(">II")
_RESPONSE = struct.Struct(">BI")
_UNCHECKED_HASH = 0b01  # PEP 552: hash-based, and the source is never read to check it


def _read(stream: BinaryIO, size: int) -> bytes:
    chunks = []
    while size:
        chunk = stream.read(size)
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def pyc_bytes(source: bytes, name: str) -> bytes:
    """What py_compile writes with invalidation_mode=UNCHECKED_HASH and optimization 0:
    the bytes depend on the source and the interpreter only, never on a time."""
    code = compile(source, name, "exec", dont_inherit=True, optimize=0)
    return b"".join(
        (
            importlib.util.MAGIC_NUMBER,
            _UNCHECKED_HASH.to_bytes(4, "little"),
            importlib.util.source_hash(source),
            marshal.dumps(code),
        )
    )


def _respond(out: BinaryIO, status: int, payload: bytes) -> None:
    out.write(_RESPONSE.pack(status, len(payload)) + payload)
    out.flush()


def main() -> None:
    warnings.simplefilter("ignore")  # SyntaxWarnings of odd escapes are the package's own
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    hello = {
        "implementation": sys.implementation.name,
        "cache_tag": sys.implementation.cache_tag,
        "magic": importlib.util.MAGIC_NUMBER.hex(),
        "version": ".".join(str(n) for n in sys.version_info[:3]),
        "release": sys.version_info.releaselevel,
    }
    _respond(stdout, 0, json.dumps(hello).encode())
    while True:
        head = stdin.read(_REQUEST.size)
        if not head:
            return
        if len(head) < _REQUEST.size:
            head += _read(stdin, _REQUEST.size - len(head))
        name_size, source_size = _REQUEST.unpack(head)
        name = _read(stdin, name_size).decode("utf-8", "replace")
        source = _read(stdin, source_size)
        try:
            data = pyc_bytes(source, name)
        except Exception as exc:  # noqa: BLE001 - any compile failure: that file gets no .pyc
            _respond(stdout, 1, f"{type(exc).__name__}: {exc}"[:300].encode("utf-8", "replace"))
            continue
        _respond(stdout, 0, data)


if __name__ == "__main__":
    main()
