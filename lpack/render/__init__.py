"""Render: documents to text (rich) or to json, sarif, github, markdown and html, one module per format; imports inspect/ documents, and build/resolve results for type checking only."""
