"""Entry point for `python -m lpack`."""

from __future__ import annotations

from lpack.cli import main

if __name__ == "__main__":
    main()
