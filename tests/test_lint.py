"""lpack lint: each rule fires on a package made to trip it and stays quiet on a clean one."""

from __future__ import annotations

import json
import os
import struct
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT, run_lpack
from lint_fixtures import (
    NEW_GLIBC_C,
    PLAIN_C,
    S_IFDIR,
    S_IFLNK,
    clean_package,
    compile_so,
    dist_info,
    golden_package,
    write_zip,
)

from lpack.catalog import lint_rules as catalog
from lpack.inspect.lint import registry
from lpack.resources import rules_dir

HOST = f"python3.{sys.version_info[1]}"
GOLDEN = ROOT / "fixtures" / "golden"


def lint(*args: str, cwd: Path | None = None) -> tuple[int, dict]:
    r = run_lpack("lint", *args, "--format", "json", cwd=cwd)
    assert r.rc in (0, 1), r.stderr
    return r.rc, json.loads(r.stdout)


def codes(data: dict) -> set[str]:
    return {f["code"] for f in data["findings"]}


def fired(data: dict, code: str) -> list[dict]:
    return [f for f in data["findings"] if f["code"] == code]


def named(data: dict, code: str) -> set[str]:
    """Every path the code's findings name (a finding grouped per distribution names many)."""
    return {p for f in fired(data, code) for p in f["paths"]}


def test_catalog_and_registry_match_one_to_one() -> None:
    assert set(catalog()) == set(registry())
    for code, rule in catalog().items():
        assert code[:2] == "LP" and code[2] in "12345" and len(code) == 5
        assert rule.severity in ("error", "warning", "info")
        assert rule.name == rule.name.lower() and " " not in rule.name
        assert rule.summary and rule.why and rule.example and rule.fix


def test_clean_package_has_no_findings(tmp_path: Path) -> None:
    rc, data = lint(
        str(clean_package(tmp_path / "ok.zip")), "--runtime", HOST, "--handler", "app.handler"
    )
    assert rc == 0 and data["findings"] == []


def test_compatibility_rules(tmp_path: Path) -> None:
    new = compile_so(tmp_path, NEW_GLIBC_C, "newglibc")
    plain = compile_so(tmp_path, PLAIN_C, "plain")
    debug = compile_so(tmp_path, PLAIN_C, "debug", debug=True)
    if not (new and plain and debug):
        pytest.skip("needs gcc")
    arm = bytearray(plain)
    arm[18:20] = (183).to_bytes(2, "little")
    members = {
        "pkg/__init__.py": b"",
        "pkg/newglibc.so": new,
        "pkg/arm.so": bytes(arm),
        "pkg/debug.so": debug,
        "pkg/_ext.cpython-312-x86_64-linux-gnu.so": plain,
        "pkg/_ok.cpython-311-x86_64-linux-gnu.so": plain,
        "pkg/win.pyd": b"MZ" + b"\0" * 100,
        "pkg/__pycache__/mod.cpython-312.pyc": b"\0" * 16,
    }
    members.update(dist_info("pkg", "1.0", list(members), tag="cp312-abi3-manylinux_2_17_x86_64"))
    members.update(dist_info("muslpkg", "1.0", [], tag="cp311-cp311-musllinux_1_2_x86_64"))
    path = write_zip(tmp_path / "compat.zip", members)
    rc, data = lint(str(path), "--runtime", "python3.11")
    assert rc == 1
    assert [f["path"] for f in fired(data, "LP203")] == ["pkg/newglibc.so"]
    assert "GLIBC_2.27" in fired(data, "LP203")[0]["message"]
    assert [f["path"] for f in fired(data, "LP202")] == ["pkg/arm.so"]
    assert [f["path"] for f in fired(data, "LP204")] == ["pkg/_ext.cpython-312-x86_64-linux-gnu.so"]
    assert [f["path"] for f in fired(data, "LP201")] == ["pkg/win.pyd"]
    assert len(fired(data, "LP205")) == 1 and "3.12" in fired(data, "LP205")[0]["message"]
    assert len(fired(data, "LP206")) == 1
    assert [f["path"] for f in fired(data, "LP207")] == ["pkg/__pycache__/mod.cpython-312.pyc"]
    assert [f["path"] for f in fired(data, "LP303")] == ["pkg/debug.so"]
    # Amazon Linux 2023 has glibc 2.34: the same binary is fine for python3.12.
    _, data12 = lint(str(path), "--runtime", "python3.12")
    assert "LP203" not in codes(data12)
    assert [f["path"] for f in fired(data12, "LP204")] == [
        "pkg/_ok.cpython-311-x86_64-linux-gnu.so"
    ]
    assert "LP205" not in codes(data12) and "LP207" not in codes(data12)


def test_bundled_libstdcxx_satisfies_glibcxx(tmp_path: Path) -> None:
    plain = compile_so(tmp_path, PLAIN_C, "plain")
    if plain is None:
        pytest.skip("needs gcc")
    # A library that needs a GLIBCXX newer than AL2's, next to the libstdc++ it brings.
    cxx = tmp_path / "x.cpp"
    # Declared by hand so any g++ links it: libstdc++ versions it GLIBCXX_3.4.29 (GCC 11),
    # newer than Amazon Linux 2's 3.4.24.
    cxx.write_text(
        "namespace std { [[noreturn]] void __throw_bad_array_new_length(); }\n"
        'extern "C" void f(void) { std::__throw_bad_array_new_length(); }\n'
    )
    out = tmp_path / "x.so"
    if os.system(f"g++ -shared -fPIC -O1 -s {cxx} -o {out} 2>/dev/null") != 0:
        pytest.skip("needs g++")
    members = {"pkg/__init__.py": b"", "pkg/x.so": out.read_bytes()}
    _, alone = lint(
        str(write_zip(tmp_path / "a.zip", members)), "--runtime", "python3.11", "--select", "LP203"
    )
    needs = [f for f in fired(alone, "LP203") if "GLIBCXX" in f["message"]]
    if not needs and "GLIBCXX_3.4.29" not in (tmp_path / "x.so").read_bytes().decode("latin-1"):
        pytest.skip("this g++'s libstdc++ predates GCC 11")
    assert needs and "GLIBCXX_3.4.29" in needs[0]["message"]
    members["pkg.libs/libstdc++.so.6"] = plain
    _, bundled = lint(
        str(write_zip(tmp_path / "b.zip", members)), "--runtime", "python3.11", "--select", "LP203"
    )
    assert not [f for f in fired(bundled, "LP203") if "GLIBCXX" in f["message"]]


def test_hygiene_rules(tmp_path: Path) -> None:
    big_test = b"def test():\n    pass\n" * 1000
    members = {
        "pkg/__init__.py": b"",
        "pkg/tests/test_big.py": big_test,
        "pkg/__pycache__/__init__.cpython-311.pyc": b"\0" * 16,
        "orphan/__init__.py": b"__version__ = '2.0'\n",
        "orphan/a.py": b"",
        "orphan/b.py": b"",
        "mine/__init__.py": b"",  # the user's own package: no version marker, not flagged
        "mine/x.py": b"",
        "mine/y.py": b"",
    }
    members.update(
        dist_info(
            "pkg",
            "1.0",
            [
                "pkg/__init__.py",
                "pkg/tests/test_big.py",
                "pkg/__pycache__/__init__.cpython-311.pyc",
            ],
        )
    )
    members.update(dist_info("pkg", "2.0", []))
    members.update(dist_info("boto3", "1.0", []))
    path = write_zip(tmp_path / "hygiene.zip", members)
    rc, data = lint(str(path), "--runtime", HOST)
    assert rc == 1  # the duplicate is an error
    assert [f["path"] for f in fired(data, "LP302")] == ["pkg/tests"]
    assert len(fired(data, "LP301")) == 1
    assert [f["path"] for f in fired(data, "LP305")] == ["orphan"]
    assert "pkg is installed 2 times" in fired(data, "LP304")[0]["message"]
    assert "boto3 is shipped" in fired(data, "LP306")[0]["message"]


def test_duplicate_between_function_and_layer(tmp_path: Path) -> None:
    fn = {"app.py": b"", **dist_info("six", "1.16.0", [])}
    layer = {
        "python/six.py": b"",
        **{f"python/{k}": v for k, v in dist_info("six", "1.17.0", ["six.py"]).items()},
    }
    _, data = lint(
        str(write_zip(tmp_path / "fn.zip", fn)),
        str(write_zip(tmp_path / "layer.zip", layer)),
        "--runtime",
        HOST,
    )
    (dup,) = fired(data, "LP304")
    assert "six is also in" in dup["message"] and dup["artifact"].endswith("layer.zip")


def test_safety_rules(tmp_path: Path) -> None:
    members = {
        "app.py": b"def handler(e, c):\n    pass\n",
        "config.py": b"KEY = 'AKIAABCDEFGHIJKLMNOP'\nEXAMPLE = 'AKIAIOSFODNN7EXAMPLE'\n",
        ".env": b"A=1\n",
        "certs/server.key": b"-----BEGIN RSA PRIVATE KEY-----\nMII\n-----END RSA PRIVATE KEY-----\n",
        "certs/ca.pem": b"-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----\n",
        "private.py": (b"X = 1\n", 0o600),
        "closed": (b"", S_IFDIR | 0o700),
        ".git/HEAD": b"ref: refs/heads/main\n",
        ".DS_Store": b"\0",
        "venv/pyvenv.cfg": b"home = /usr\n",
        "../up.py": b"",
        "/abs.py": b"",
        "win\\path.py": b"",
        "esc": (b"../../outside", S_IFLNK | 0o777),
        "abs_link": (b"/etc/passwd", S_IFLNK | 0o777),
        "ok_link": (b"app.py", S_IFLNK | 0o777),
    }
    path = write_zip(tmp_path / "safety.zip", members)
    before = sorted(p.name for p in tmp_path.iterdir())
    rc, data = lint(str(path), "--runtime", HOST, cwd=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # lint wrote nothing
    assert rc == 1
    assert [f["path"] for f in fired(data, "LP403")] == ["config.py"]
    assert "AKIAABCD…" in fired(data, "LP403")[0]["message"]
    assert {f["path"] for f in fired(data, "LP402")} == {".env", "certs/server.key"}
    assert {f["path"] for f in fired(data, "LP401")} == {"private.py", "closed"}
    assert {f["path"] for f in fired(data, "LP404")} == {".git", ".DS_Store", "venv"}
    # The three have no distribution and one message: one finding that names them all.
    assert named(data, "LP405") == {"../up.py", "/abs.py", "win\\\\path.py"}
    assert len(fired(data, "LP405")) == 1
    assert {f["path"] for f in fired(data, "LP406")} == {"esc", "abs_link"}


def test_handler_rule(tmp_path: Path) -> None:
    path = clean_package(tmp_path / "ok.zip")
    _, data = lint(str(path), "--runtime", HOST, "--handler", "app.missing")
    assert "has no top-level 'missing'" in fired(data, "LP501")[0]["message"]
    _, data = lint(str(path), "--runtime", HOST, "--handler", "api.handler")
    assert "no api.py" in fired(data, "LP501")[0]["message"]


def test_size_rules(tmp_path: Path) -> None:
    folder = tmp_path / "big"
    (folder / "data").mkdir(parents=True)
    for name, size in (("model.bin", 30 * 1024**2), ("huge.bin", 240 * 1024**2)):
        with open(folder / "data" / name, "wb") as fh:  # sparse: no disk is used
            fh.truncate(size)
    _, data = lint(str(folder), "--runtime", HOST)
    assert (
        len(fired(data, "LP102")) == 1
        and "(262,144,000 B)" in fired(data, "LP102")[0]["message"]  # the limit, exactly
    )
    assert {f["path"] for f in fired(data, "LP105")} == {"data/model.bin", "data/huge.bin"}
    _, data = lint(str(folder), "--runtime", HOST, "--max-unzipped", "100 MiB")
    assert len(fired(data, "LP103")) == 1
    near = tmp_path / "near.zip"
    write_zip(near, {"blob.bin": os.urandom(44 * 1024**2)}, stored=True)
    _, data = lint(str(near), "--runtime", HOST)
    assert len(fired(data, "LP104")) == 1 and "LP101" not in codes(data)
    _, data = lint(str(near), "--runtime", HOST, "--upload", "s3")
    assert "LP104" not in codes(data)  # S3 upload: the zipped limit does not apply
    over = tmp_path / "over.zip"
    write_zip(over, {"blob.bin": os.urandom(51 * 1024**2)}, stored=True)
    rc, data = lint(str(over), "--runtime", HOST)
    assert rc == 1 and len(fired(data, "LP101")) == 1


def test_selection_ignores_and_exit_zero(tmp_path: Path) -> None:
    path = golden_package(tmp_path / "bad.zip")
    _, everything = lint(str(path), "--runtime", HOST)
    assert len(codes(everything)) > 5
    _, only = lint(str(path), "--runtime", HOST, "--select", "LP4")
    assert codes(only) and all(c.startswith("LP4") for c in codes(only))
    _, fewer = lint(str(path), "--runtime", HOST, "--ignore", "LP40", "--extend-select", "LP5")
    assert not any(c.startswith("LP40") for c in codes(fewer))
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[tool.lpack]\nruntime = "python3.11"\n[tool.lpack.lint]\nignore = ["LP2"]\n'
        '[tool.lpack.lint.per-path-ignores]\n".env" = ["LP402"]\n'
    )
    _, configured = lint(str(path), "--project", str(project))
    assert not any(c.startswith("LP2") for c in codes(configured))
    assert ".env" not in {f["path"] for f in fired(configured, "LP402")}
    r = run_lpack("lint", str(path), "--runtime", HOST, "--exit-zero")
    assert r.rc == 0 and "errors" in r.stdout
    r = run_lpack("lint", str(path), "--select", "LP999")
    assert r.rc == 2 and "Unknown rule code" in r.stderr


@pytest.mark.parametrize("fmt", ["text", "json", "github", "sarif"])
def test_golden_outputs(tmp_path: Path, fmt: str) -> None:
    golden_package(tmp_path / "bad.zip")
    r = run_lpack(
        "lint",
        "bad.zip",
        "--runtime",
        "python3.11",
        "--handler",
        "app.handler",
        "--format",
        fmt,
        cwd=tmp_path,
        env={"COLUMNS": "200"},
    )
    assert r.rc == 1, r.stderr
    output = r.stdout.replace(str(tmp_path), "<tmp>")
    golden = GOLDEN / f"lint.{fmt}"
    if os.environ.get("LPACK_UPDATE_GOLDENS"):
        golden.write_text(output)
    assert output == golden.read_text()
    if fmt == "json":
        import jsonschema

        schema = json.loads((rules_dir() / "schema" / "lpack-output-v1.json").read_text())
        jsonschema.validate(json.loads(output), schema)
    if fmt == "sarif":
        sarif = json.loads(output)
        assert sarif["version"] == "2.1.0"
        results = sarif["runs"][0]["results"]
        rules = sarif["runs"][0]["tool"]["driver"]["rules"]
        assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in results)


def test_hostile_archives(tmp_path: Path) -> None:
    # Declared sizes far beyond anything real: refused before reading a byte.
    bomb = write_zip(tmp_path / "bomb.zip", {"a.bin": b"\0" * 1000})
    data = bytearray(bomb.read_bytes())
    cd = data.rfind(b"PK\x01\x02")
    struct.pack_into("<I", data, cd + 24, 0xFFFFFFF0)  # uncompressed size in the CD
    bomb.write_bytes(bytes(data))
    r = run_lpack("lint", str(bomb), "--runtime", HOST)
    assert r.rc == 2 and "zip bomb" in r.stderr and "Traceback" not in r.stderr
    truncated = tmp_path / "cut.zip"
    truncated.write_bytes(clean_package(tmp_path / "whole.zip").read_bytes()[:300])
    r = run_lpack("lint", str(truncated), "--runtime", HOST)
    assert r.rc == 2 and "not a readable zip" in r.stderr
    odd = write_zip(tmp_path / "odd.zip", {"new\nline.py": b"", "tab\there.py": b"", "ok.py": b""})
    rc, data_odd = lint(str(odd), "--runtime", HOST)
    assert rc == 1 and named(data_odd, "LP405") == {"new\\nline.py", "tab\\there.py"}
    r = run_lpack("lint", str(tmp_path / "missing.zip"))
    assert r.rc == 2


def test_lint_of_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "fn"
    (folder / "lib").mkdir(parents=True)
    (folder / "app.py").write_text("def handler(e, c): pass\n")
    (folder / "lib" / "secret.py").write_text("X = 1\n")
    os.chmod(folder / "lib" / "secret.py", 0o600)
    os.symlink("/etc/hostname", folder / "leak")
    _, data = lint(str(folder), "--runtime", HOST, "--handler", "app.handler")
    assert [f["path"] for f in fired(data, "LP401")] == ["lib/secret.py"]
    assert [f["path"] for f in fired(data, "LP406")] == ["leak"]


def test_layer_is_understood(tmp_path: Path) -> None:
    members = {
        "python/lib/python3.11/site-packages/pkg/__init__.py": b"",
        "python/lib/python3.11/site-packages/pkg/tests/test_x.py": b"x = 1\n" * 5000,
    }
    members.update(
        {
            f"python/lib/python3.11/site-packages/{k}": v
            for k, v in dist_info("pkg", "1.0", ["pkg/__init__.py", "pkg/tests/test_x.py"]).items()
        }
    )
    _, data = lint(str(write_zip(tmp_path / "layer.zip", members)), "--runtime", "python3.11")
    assert [f["path"] for f in fired(data, "LP302")] == ["pkg/tests"]


def test_readme_rule_table_matches_catalog() -> None:
    import re

    readme = (ROOT / "README.md").read_text()
    table = re.search(r"<!-- lint-table.*?-->\n(.*?)<!-- /lint-table -->", readme, re.S)
    assert table, "README lost its lint table markers"
    rows = [line for line in table.group(1).splitlines() if re.match(r"\| LP\d{3} ", line)]
    assert rows == [
        f"| {r.code} | {r.name} | {r.severity} | {r.summary} |" for r in catalog().values()
    ]


def test_explain_and_rules_commands() -> None:
    r = run_lpack("explain", "LP203")
    assert r.rc == 0 and "glibc-too-new (error)" in r.stdout and "GLIBC_2.28" in r.stdout
    r = run_lpack("rules")
    assert r.rc == 0 and all(code in r.stdout for code in catalog())


# -- regressions found in review --------------------------------------------------------


def test_executables_are_not_native_modules(tmp_path: Path) -> None:
    members = {
        "setuptools/__init__.py": b"",
        "setuptools/cli-64.exe": b"MZ" + b"\0" * 200,
        **dist_info("setuptools", "80.0", ["setuptools/__init__.py", "setuptools/cli-64.exe"]),
    }
    rc, data = lint(str(write_zip(tmp_path / "st.zip", members)), "--runtime", HOST)
    assert rc == 0 and "LP201" not in codes(data)


def test_multi_version_layer_and_wrong_version_layer(tmp_path: Path) -> None:
    members: dict = {}
    for version in ("3.11", "3.12"):
        site = f"python/lib/python{version}/site-packages/"
        tag = version.replace(".", "")
        members[f"{site}fast/_x.cpython-{tag}-x86_64-linux-gnu.so"] = b"\x7fELF"
        members.update({site + k: v for k, v in dist_info("fast", "1.0", []).items()})
    layer = write_zip(tmp_path / "multi.zip", members)
    _, data = lint(str(layer), "--runtime", "python3.12")
    assert "LP204" not in codes(data) and "LP304" not in codes(data) and "LP208" not in codes(data)
    only311 = {k: v for k, v in members.items() if "python3.11" in k}
    rc, data = lint(str(write_zip(tmp_path / "l311.zip", only311)), "--runtime", "python3.12")
    assert rc == 1 and len(fired(data, "LP208")) == 1
    assert "LP208" not in codes(lint(str(tmp_path / "l311.zip"), "--runtime", "python3.11")[1])


def _duplicate_entry_zip(path: Path) -> Path:
    """One member listed twice in the central directory at the same offset."""
    write_zip(path, {"a.so": b"\0" * 5000})
    data = bytearray(path.read_bytes())
    cd = data.rfind(b"PK\x01\x02")
    eocd = data.rfind(b"PK\x05\x06")
    entry = bytes(data[cd:eocd])
    cd_size, cd_offset = struct.unpack_from("<II", data, eocd + 12)
    new = data[:eocd] + entry + data[eocd:]
    struct.pack_into("<HHII", new, eocd + len(entry) + 8, 2, 2, cd_size + len(entry), cd_offset)
    path.write_bytes(bytes(new))
    return path


def test_entries_sharing_data_are_refused(tmp_path: Path) -> None:
    r = run_lpack("lint", str(_duplicate_entry_zip(tmp_path / "dup.zip")), "--runtime", HOST)
    assert r.rc == 2 and "zip bomb" in r.stderr


def test_unsupported_method_and_damaged_data_are_clear_errors(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "m9.zip", {"lib.so": b"\x7fELF" + b"\1" * 4000})
    data = bytearray(path.read_bytes())
    struct.pack_into("<H", data, 8, 9)  # local header: Deflate64
    struct.pack_into("<H", data, data.rfind(b"PK\x01\x02") + 10, 9)  # central directory too
    path.write_bytes(bytes(data))
    r = run_lpack("lint", str(path), "--runtime", HOST)
    # A finding (the archive is read; that member is not), not an abort of the whole lint.
    assert r.rc == 1 and "LP408" in r.stdout and "internal error" not in r.stderr
    assert "compression method 9: Lambda unzips stored and deflate only" in r.stdout
    damaged = write_zip(tmp_path / "bad.zip", {"lib.so": b"\x7fELF" + bytes(range(256)) * 40})
    raw = bytearray(damaged.read_bytes())
    raw[40:60] = b"\xff" * 20  # inside the deflate stream
    damaged.write_bytes(bytes(raw))
    r = run_lpack("lint", str(damaged), "--runtime", HOST)
    assert r.rc == 1 and "lib.so: LP408" in r.stdout and "internal error" not in r.stderr


def test_folder_with_dangling_links_and_fifos(tmp_path: Path) -> None:
    folder = tmp_path / "fn"
    (folder / "pkg").mkdir(parents=True)
    os.symlink(folder / "nowhere.py", folder / "pkg" / "__init__.py")
    (folder / "pkg" / "a.py").write_text("")
    (folder / "pkg" / "b.py").write_text("")
    os.symlink(folder / "gone.py", folder / "app.py")
    os.mkfifo(folder / "pipe.py")
    r = run_lpack(
        "lint", str(folder), "--runtime", HOST, "--handler", "app.handler", "--format", "json"
    )
    assert r.rc in (0, 1) and "internal error" not in r.stderr, r.stderr
    r = run_lpack("report", str(folder), "--runtime", HOST, "--format", "json")
    assert r.rc == 0, r.stderr


def test_handlers_that_cannot_be_ruled_out_are_not_reported(tmp_path: Path) -> None:
    members = {
        "impl/__init__.py": b"",
        "impl/h.py": b"def handler(e, c): pass\n",
        "app.py": b"from impl.h import *\n",
        "app2.py": b"handler, other = (lambda e, c: 1), 2\n",
        "app3.py": b"with open(__file__) as handler:\n    pass\n",
    }
    path = write_zip(tmp_path / "h.zip", members)
    for module in ("app", "app2", "app3"):
        _, data = lint(str(path), "--runtime", HOST, "--handler", f"{module}.handler")
        assert "LP501" not in codes(data), module


def test_per_path_ignores_match_folder_findings(tmp_path: Path) -> None:
    members = {
        "pkg/__init__.py": b"",
        "pkg/tests/test_x.py": b"x = 1\n" * 5000,
        ".git/HEAD": b"ref\n",
        **dist_info("pkg", "1.0", ["pkg/__init__.py", "pkg/tests/test_x.py"]),
    }
    path = write_zip(tmp_path / "p.zip", members)
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[tool.lpack.lint.per-path-ignores]\n"tests/" = ["LP302"]\n".git/" = ["LP404"]\n'
    )
    _, data = lint(str(path), "--project", str(project), "--runtime", HOST)
    assert "LP302" not in codes(data) and "LP404" not in codes(data)


def test_keystores_flagged_and_env_templates_not(tmp_path: Path) -> None:
    members = {
        "client.p12": b"\x30\x82\x01\x00binary",
        ".env.example": b"KEY=\n",
        "server.key": b"\x30\x82\x04\xa4\x02\x01\x00\x02\x82",
    }
    _, data = lint(str(write_zip(tmp_path / "s.zip", members)), "--runtime", HOST)
    assert {f["path"] for f in fired(data, "LP402")} == {"client.p12", "server.key"}


def test_malformed_wheel_tag_and_comma_lists_and_bidi_names(tmp_path: Path) -> None:
    members = {
        "x/__init__.py": b"",
        **dist_info("x", "1.0", [], tag="cp3-abi3-manylinux_2_17_x86_64"),
        "evil\u202efdp.py": b"",
    }
    path = write_zip(tmp_path / "t.zip", members)
    rc, data = lint(str(path), "--runtime", HOST, "--ignore", "LP301,LP306")
    assert "internal error" not in json.dumps(data)
    assert [f["code"] for f in data["findings"]] == ["LP405"]


def test_over_limit_findings_name_the_remedy_with_sizes(tmp_path: Path) -> None:
    """Only the zipped limit exceeded: S3 upload, or the heaviest distributions in a layer,
    with the sizes that split gives; the figures come from the zip itself."""
    rng = __import__("random").Random(7)
    big = {"big/data.bin": rng.randbytes(30 * 1024 * 1024)}
    other = {"other/data.bin": rng.randbytes(25 * 1024 * 1024)}
    members = {
        **big,
        **other,
        **dist_info("big", "1.0", list(big)),
        **dist_info("other", "1.0", list(other)),
        "app.py": b"def handler(e, c): pass\n",
    }
    package = write_zip(tmp_path / "fn.zip", members, stored=True)
    rc, data = lint(str(package), "--runtime", "python3.12")
    (finding,) = fired(data, "LP101")
    message = finding["message"]
    assert rc == 1 and 'Remedy: set upload = "s3"' in message
    assert "unzips to 55.0 MiB with its layers" in message
    # Moving big (30 MiB) leaves other (25 MiB) and the source: about 25.0 MiB.
    assert "or move big into a layer" in message
    assert "the function zip becomes about 25.0 MiB and the layer zip about 30.0 MiB" in message


def test_remedy_when_no_split_helps() -> None:
    from lpack.inspect.remedy import Weight, remedy

    mib = 1024 * 1024
    # One distribution alone is over the zipped limit: a layer zip could not hold it.
    alone = [Weight("torch", 60 * mib, 200 * mib), Weight("(your source)", mib, mib)]
    text = remedy(alone, 61 * mib, 201 * mib, "direct")
    assert text is not None and 's3"' in text and "into a layer" not in text
    # Over 250 MiB unzipped: layers count too, so only a container image or cutting helps.
    heavy = [Weight("a", 40 * mib, 180 * mib), Weight("b", 5 * mib, 90 * mib)]
    text = remedy(heavy, 45 * mib, 270 * mib, "direct")
    assert text is not None and "container image" in text and "a 180.0 MiB" in text
    assert remedy(heavy, 45 * mib, 200 * mib, "direct") is None
    assert remedy(heavy, 60 * mib, 200 * mib, "s3") is None


def test_a_layer_split_moves_what_the_moved_distribution_needs() -> None:
    """A layer resolves its requirements' dependencies too: moving scipy moves numpy, and the
    sizes the remedy gives say so."""
    from lpack.inspect.remedy import Weight, dependency_names, remedy

    mib = 1024 * 1024
    weights = [
        Weight("scipy", 28 * mib, 90 * mib, files=10, requires=("numpy",)),
        Weight("skimage", 14 * mib, 27 * mib, files=10, requires=("numpy", "scipy")),
        Weight("numpy", 14 * mib, 48 * mib, files=10),
        Weight("(your source)", 1024, 1024, files=1),
    ]
    text = remedy(weights, 56 * mib, 165 * mib, "direct")
    assert text is not None and "move scipy (with numpy) into a layer" in text
    assert "function zip becomes about 14.0 MiB" in text
    assert dependency_names(["numpy>=1.26", 'pytest; extra == "test"', "bad req ]["]) == ("numpy",)


def test_archive_level_defects_are_findings(tmp_path: Path) -> None:
    """A name twice, a NUL in a name, a file that is also a folder: LP407, each named."""
    import warnings

    warnings.simplefilter("ignore")  # zipfile warns when asked to write a name twice
    dup = tmp_path / "dup.zip"
    with zipfile.ZipFile(dup, "w") as zf:
        zf.writestr("app.py", "A = 1\n")
        zf.writestr("app.py", "A = 2\n")
    clash = tmp_path / "clash.zip"
    with zipfile.ZipFile(clash, "w") as zf:
        zf.writestr("pkg", "a file\n")
        zf.writestr("pkg/sub/__init__.py", "")
    nul = tmp_path / "nul.zip"
    with zipfile.ZipFile(nul, "w") as zf:
        zf.writestr("app.py", "X = 1\n")
    nul.write_bytes(nul.read_bytes().replace(b"app.py", b"ap\x00.py"))
    expected = {
        dup: ("app.py", "holds this name twice"),
        clash: ("pkg", "also a folder"),
        nul: ("ap", "NUL byte"),
    }
    for path, (entry, words) in expected.items():
        rc, data = lint(str(path), "--runtime", "python3.12")
        (found,) = fired(data, "LP407")
        assert rc == 1 and found["path"] == entry and words in found["message"], found
    clean = write_zip(tmp_path / "clean.zip", {"pkg/__init__.py": b"", "app.py": b""})
    assert fired(lint(str(clean), "--runtime", "python3.12")[1], "LP407") == []
