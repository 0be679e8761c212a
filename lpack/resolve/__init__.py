"""Resolve: requirement inputs, lock files, the pip-tools worker (the only pip-private code), fetch and the wheel cache; imports only settings, target, catalog, facts, errors and files."""
