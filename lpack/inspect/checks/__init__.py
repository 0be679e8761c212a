"""The lint checks, one module per family; importing this package registers them all."""

from lpack.inspect.checks import compat, hygiene, safety, size

__all__ = ["compat", "hygiene", "safety", "size"]
