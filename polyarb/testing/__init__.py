"""Test-data generators: synthetic run histories and sessions for tests and benchmarks.

No command imports this package (tests/meta/test_layers.py checks it), so the
product's import graph never includes it.
"""
