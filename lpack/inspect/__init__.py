"""Inspect: any Lambda package (ours, or anybody's zip or folder) → findings and reports.

Owns the Contents model, size limits, lint, report, diff/gate and verify. Reads only what it
is given: never imports assemble/ or resolve/, never builds what it inspects.
"""
