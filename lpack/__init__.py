"""lpack: build, lint and size-gate AWS Lambda deployment packages for Python."""

from __future__ import annotations

__version__ = "0.1.0"
