"""Jobs: train, evaluate, promote (local or Dask)."""
