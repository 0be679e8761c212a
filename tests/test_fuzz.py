"""Property-based tests and a bounded fuzz run of the readers that see hostile bytes.

Whatever the bytes, the ELF reader returns facts or raises ElfError, the streaming reader
agrees with the whole-file one, and the zip reader gives a model or a ContentsError: never
another exception, never a hang. LPACK_FUZZ_EXAMPLES raises the number of examples (CI
runs the default; the closing note's figures came from a longer run).
"""

from __future__ import annotations

import _json
import io
import os
import zipfile
from pathlib import Path

import hostile
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lpack import elf
from lpack.errors import ContentsError
from lpack.inspect.contents import read_contents
from lpack.inspect.lint import lint
from lpack.inspect.registry import LintOptions
from lpack.inspect.ziparchive import damaged_members
from lpack.target import Target

EXAMPLES = int(os.environ.get("LPACK_FUZZ_EXAMPLES", "300"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    database=None,  # no .hypothesis folder left in the checkout
)

REAL_LIBRARY = Path(_json.__file__).read_bytes()  # a real extension: verneed, dynamic, ...


def _small_library() -> bytes:
    body_end = 256
    tables, headers = hostile._elf_tables(body_end)
    head = hostile.elf_header(body_end + len(tables))
    return head + bytes(body_end - len(head)) + tables + headers


SEEDS = [REAL_LIBRARY, _small_library()]


def _facts(data: elf.ByteSource) -> object:
    """Everything lint reads from a binary, or the ElfError that says why it could not."""
    try:
        parsed = elf.parse(data)
        return (
            parsed.machine_name,
            [(s.name, s.offset, s.size) for s in parsed.sections],
            elf.needed_versions(parsed),
            elf.dynamic(parsed),
        )
    except elf.ElfError as exc:
        return ("ElfError", str(exc))


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    """A seed with bytes overwritten (headers first: that is where readers trust numbers),
    sometimes truncated."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 8))):
        limit = draw(st.sampled_from([64, 4096, len(data)]))
        at = draw(st.integers(0, min(limit, len(data)) - 1))
        chunk = draw(st.binary(min_size=1, max_size=8))
        data[at : at + len(chunk)] = chunk
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


@FUZZ
@given(st.one_of(mutated(SEEDS), st.binary(max_size=512)))
def test_the_elf_reader_gives_facts_or_an_elf_error(data: bytes) -> None:
    whole = _facts(data)
    streamed = _facts(elf.FileView(io.BytesIO(data), len(data)))
    assert streamed == whole  # reading on demand never changes what lint concludes


def test_the_seeds_parse() -> None:
    assert _facts(REAL_LIBRARY)[0] in ("x86_64", "aarch64")
    assert elf.dynamic(elf.parse(_small_library())).needed == ("libc.so.6", "libfoo.so.1")


def _zip_seed() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("app.py", "def handler(event, context):\n    return 1\n" * 5)
        zf.writestr("pkg/__init__.py", "")
        zf.writestr("pkg/_native.cpython-312-x86_64-linux-gnu.so", _small_library())
        zf.writestr("pkg-1.0.dist-info/RECORD", "pkg/__init__.py,,\n")
        zf.writestr("pkg-1.0.dist-info/METADATA", "Name: pkg\nVersion: 1.0\n")
    return buffer.getvalue()


ZIP_SEED = _zip_seed()


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@FUZZ
@given(mutated([ZIP_SEED]))
def test_the_zip_reader_gives_a_model_or_a_contents_error(scratch: Path, data: bytes) -> None:
    path = scratch / "case.zip"
    path.write_bytes(data)
    try:
        contents = read_contents(path)
    except ContentsError as exc:
        assert exc.message and str(path) in exc.message
        return
    try:
        findings = lint([contents], Target.from_names("python3.12", "x86_64"), LintOptions())
        assert all(f.code.startswith("LP") for f in findings)
        damaged_members(path, contents._reader.infolist())  # type: ignore[attr-defined]
    finally:
        contents.close()


def test_an_entry_with_no_name_is_a_contents_error(scratch: Path) -> None:
    # Found by the fuzz run: zipfile's own is_dir() fails on an empty name.
    path = scratch / "noname.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(zipfile.ZipInfo(""), b"x")
    with pytest.raises(ContentsError, match="an entry with an empty name"):
        read_contents(path)
