"""Connector backends: each turns a connector's own config into a `Catalog`, a check result or sample records.

Backends hide how a connector runs (PyAirbyte venv, database query, HTTP), so the planner never needs to know.
"""
