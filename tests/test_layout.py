"""The install layout, in process: wheels laid out as `pip install --target`, for a function at
the zip's root and for a layer under python/, with RECORDs that match what ships."""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from pathlib import Path

import make_index
import pytest

from lpack.assemble.archive import write_archive
from lpack.assemble.layout import InstallLayout, make_plan
from lpack.assemble.record import record_hash, write_records
from lpack.errors import BuildError
from lpack.inspect.contents import read_contents
from lpack.resolve.fetch import FetchedWheel


def _fetched(path: Path, name: str, version: str) -> FetchedWheel:
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    return FetchedWheel(name, version, path, path.name, sha, cached=False)


def _rich_wheel(tmp_path: Path) -> FetchedWheel:
    """A wheel with every install scheme, a script to rebind and a signature to drop."""
    files = {
        "rich_dist/__init__.py": b"import json\n",
        "rich_dist-1.0.data/purelib/rich_extra.py": b"X = 1\n",
        "rich_dist-1.0.data/platlib/rich_native/__init__.py": b"",
        "rich_dist-1.0.data/scripts/rich-tool": b"#!python\nprint('hi')\n",
        "rich_dist-1.0.data/headers/rich.h": b"int x;\n",
        "rich_dist-1.0.dist-info/RECORD.jws": b"{}",
        "odd,name.txt": b"commas need quoting\n",
    }
    path = make_index.make_wheel(
        tmp_path / "wheels", "rich-dist", "1.0", files=files, requires=["json5>=1"]
    )
    return _fetched(path, "rich-dist", "1.0")


def test_wheel_lays_out_as_pip_target_would(tmp_path: Path) -> None:
    plan = make_plan([_rich_wheel(tmp_path)], [], [])
    paths = set(plan.entries)
    assert {"rich_dist/__init__.py", "rich_extra.py", "rich_native/__init__.py"} <= paths
    assert "bin/rich-tool" in paths and plan.entries["bin/rich-tool"].mode == 0o755
    assert plan.entries["bin/rich-tool"].read() == b"#!/usr/bin/env python3\nprint('hi')\n"
    assert not any(p.endswith(("rich.h", "RECORD.jws")) or ".data/" in p for p in paths)
    assert plan.entries["rich_dist-1.0.dist-info/INSTALLER"].read() == b"lpack\n"
    (dist,) = plan.distributions
    assert dist.dist_info == "rich_dist-1.0.dist-info"
    assert dist.requires == ["json5>=1"]
    assert dist.top_level == ["odd,name.txt", "rich_dist", "rich_extra", "rich_native"]


def test_records_list_exactly_what_ships_with_true_hashes(tmp_path: Path) -> None:
    plan = make_plan([_rich_wheel(tmp_path)], [], [])
    del plan.entries["rich_extra.py"]  # as a slimming stage would
    write_records(plan)
    record = plan.entries["rich_dist-1.0.dist-info/RECORD"].read().decode()
    rows = {row[0]: row for row in csv.reader(io.StringIO(record))}
    assert set(rows) == set(plan.entries)
    assert rows["odd,name.txt"][1] == record_hash(b"commas need quoting\n")
    assert '"odd,name.txt"' in record  # quoted, as csv readers expect
    for path, (_, digest, size) in rows.items():
        if digest:
            assert digest == record_hash(plan.entries[path].read())
            assert int(size) == plan.entries[path].size


def test_layer_layout_puts_everything_under_python(tmp_path: Path) -> None:
    layout = InstallLayout.for_kind("layer")
    source = tmp_path / "shared.py"
    source.write_text("Y = 2\n")
    plan = make_plan([_rich_wheel(tmp_path)], [("shared.py", source)], [], layout)
    assert all(p.startswith("python/") for p in plan.entries)
    write_records(plan)
    record = plan.entries["python/rich_dist-1.0.dist-info/RECORD"].read().decode()
    assert "rich_dist/__init__.py," in record and "python/" not in record  # relative to python/
    out = write_archive(plan.sorted_entries(), tmp_path / "layer.zip").path
    contents = read_contents(out)
    try:
        assert contents.is_layer and contents.roots == ["python/"]
        owners = {i.path: i.dist for i in contents.files}
        assert owners["python/rich_dist/__init__.py"] == "rich-dist"
        assert owners["python/shared.py"] is None
    finally:
        contents.close()


def test_unsafe_member_paths_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("evil-1.0.dist-info/METADATA", "Name: evil\nVersion: 1.0\n")
        zf.writestr("../outside.py", "x")
    with pytest.raises(BuildError, match="unsafe path '../outside.py'"):
        make_plan([_fetched(path, "evil", "1.0")], [], [])


def test_a_path_that_is_file_and_folder_is_refused(tmp_path: Path) -> None:
    wheel = make_index.make_wheel(tmp_path / "w", "gamma", "1.0", files={"gamma/x.py": b""})
    clash = tmp_path / "gamma"
    clash.write_text("a file named like the package\n")
    with pytest.raises(BuildError, match="'gamma' is a file .* also a folder"):
        make_plan([_fetched(wheel, "gamma", "1.0")], [("gamma", clash)], [])


def test_source_wins_over_a_distribution_and_says_so(tmp_path: Path) -> None:
    wheel = make_index.make_wheel(tmp_path / "w", "delta", "1.0", files={"delta.py": b"A = 1\n"})
    mine = tmp_path / "delta.py"
    mine.write_text("A = 2\n")
    warnings: list[str] = []
    plan = make_plan([_fetched(wheel, "delta", "1.0")], [("delta.py", mine)], warnings)
    assert plan.entries["delta.py"].read() == b"A = 2\n"
    assert warnings == [
        "delta.py is shipped by both delta and your source; the copy from your source wins."
    ]


def test_control_characters_in_member_names_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "odd-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("odd-1.0.dist-info/METADATA", "Name: odd\nVersion: 1.0\n")
        zf.writestr("odd/name\rwith-cr.py", "x")
    with pytest.raises(BuildError, match="unsafe path"):
        make_plan([_fetched(path, "odd", "1.0")], [], [])
