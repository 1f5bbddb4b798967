"""Offline checks of source definitions. Each takes plain values and returns findings or diagnostics."""
