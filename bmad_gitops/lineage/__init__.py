"""Lineage: which BMad stories use which data sources, and the documents that show it."""
