"""Resolve: requirement inputs and lock files → pinned, hash-verified wheels for the target.

Owns requirement inputs, the lock-file format, the pip-tools worker (the only code that
touches pip's internals), fetching and the wheel cache. May import the settings model,
target, catalog, facts, errors and files; never assemble/, inspect/, render/ or cli/.
"""
