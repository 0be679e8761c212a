"""Inspect: the Contents model of any zip or folder, limits, lint, report, diff/gate, verify and the handler check; imports only the shared model, never assemble/, resolve/, render/ or cli/."""
