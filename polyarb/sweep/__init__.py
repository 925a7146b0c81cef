"""Sweeps: sessions × profile overrides, each cell a normal deterministic replay (docs/sweeps.md).

Dask and fsspec are imported only when a sweep runs, so ``polyarb --help`` stays light.
"""
