"""The lint checks, one module per family; importing this package registers them all."""

from lpack.inspect.checks import compat, hygiene, libraries, safety, size

__all__ = ["compat", "hygiene", "libraries", "safety", "size"]
