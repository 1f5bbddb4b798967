"""Airbyte's Python connectors through PyAirbyte: install (install.py), process-wide isolation (runtime.py),
one-line scrubbed errors (failures.py), source-file's quirks (source_file.py) and the backend (backend.py).

Importing this package is cheap: `import airbyte` (about 5 s) happens inside functions.
"""
