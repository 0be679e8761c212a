"""Render: documents → text for people (rich) or machines (JSON, SARIF, GitHub, markdown, HTML).

One module per format. Only here and in cli/ is rich imported; render never computes a
result, it formats the documents the services return.
"""
