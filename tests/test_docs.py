"""The README's tables come from the catalog: they must agree with it."""

from __future__ import annotations

import re

from conftest import ROOT

from lpack.catalog import slim_categories as categories


def test_readme_slim_table_matches_catalog() -> None:
    readme = (ROOT / "README.md").read_text()
    table = re.search(r"<!-- slim-table.*?-->\n(.*?)<!-- /slim-table -->", readme, re.S)
    assert table, "README lost its slim table markers"
    rows = [line for line in table.group(1).splitlines() if re.match(r"\| LP\d{3} ", line)]
    expected = [
        f"| {c.code} | {c.name} | {'on' if c.default else 'off'} | {c.summary} |"
        for c in categories().values()
    ]
    assert rows == expected
