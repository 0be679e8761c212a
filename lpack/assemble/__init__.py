"""Assemble: wheels and source files → the install layout → build stages → the zip.

Owns entries and where their bytes come from, the layout (zip root for a function,
python/ for a layer), the build stages (prune, strip ELF, RECORD) and the archive writer.
May import resolve/'s results and the shared model; never inspect/, render/ or cli/.
"""
