"""The command table the CLI loads lazily agrees with the commands each module defines."""

from __future__ import annotations

import importlib
import subprocess
import sys

from lpack.cli import COMMAND_MODULES


def test_every_command_is_in_the_lazy_table_and_nothing_else() -> None:
    defined = {}
    for module in set(COMMAND_MODULES.values()):
        for command in importlib.import_module(f"lpack.cli.{module}").COMMANDS:
            defined[command.name] = module
    assert defined == COMMAND_MODULES


def test_help_lists_every_command_and_build_loads_no_inspection_module() -> None:
    help_text = subprocess.run(
        [sys.executable, "-m", "lpack", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for name in COMMAND_MODULES:
        assert f"  {name} " in help_text
    probe = (
        "import sys; from lpack.cli import cli; cli.get_command(None, 'build'); "
        "print(sorted(m for m in sys.modules if m.startswith('lpack.')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert "lpack.cli.building" in loaded
    assert "lpack.cli.inspecting" not in loaded and "lpack.build" not in loaded
