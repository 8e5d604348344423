"""Training on a Dask cluster with ``lightgbm.dask``; every model comes back with ``.to_local()``
as the same scikit-learn estimator the local engine fits, so logging and registering are shared."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dask.dataframe as dd
import lightgbm as lgb
import numpy as np
import pandas as pd
from dask.delayed import delayed
from distributed import Client, LocalCluster


class DaskFitter:
    """Fits with ``DaskLGBM*`` on ``client``; data split into ``partitions`` pieces."""

    def __init__(self, client: Client, partitions: int = 2) -> None:
        self.client = client
        self.partitions = partitions

    def _frames(self, X: pd.DataFrame, y: np.ndarray) -> tuple[dd.DataFrame, dd.Series]:
        data = X.reset_index(drop=True)
        target = pd.Series(np.asarray(y), name="target")
        n = max(1, min(self.partitions, len(data) // 100))
        return dd.from_pandas(data, npartitions=n, sort=True), dd.from_pandas(
            target, npartitions=n, sort=True
        )

    def regressor(
        self, params: dict[str, Any], X: pd.DataFrame, y: np.ndarray
    ) -> lgb.LGBMRegressor:
        """``DaskLGBMRegressor`` → local."""
        dX, dy = self._frames(X, y)
        return lgb.DaskLGBMRegressor(client=self.client, **params).fit(dX, dy).to_local()

    def classifier(
        self, params: dict[str, Any], X: pd.DataFrame, y: np.ndarray
    ) -> lgb.LGBMClassifier:
        """``DaskLGBMClassifier`` → local."""
        dX, dy = self._frames(X, y)
        return lgb.DaskLGBMClassifier(client=self.client, **params).fit(dX, dy).to_local()

    def ranker(
        self, params: dict[str, Any], X: pd.DataFrame, y: np.ndarray, groups: np.ndarray
    ) -> lgb.LGBMRanker:
        """``DaskLGBMRanker`` → local. Partitions are cut at query boundaries, so no campaign is
        ever split across partitions (each partition carries the sizes of its own queries)."""
        order = pd.unique(groups)
        sizes = np.array([int((groups == g).sum()) for g in order])
        cuts = np.array_split(np.arange(len(order)), min(self.partitions, len(order)))
        starts = np.concatenate([[0], np.cumsum(sizes)])
        data = X.reset_index(drop=True)
        target = np.asarray(y, dtype=float)
        parts_X, parts_y, parts_g = [], [], []
        for cut in cuts:
            lo, hi = int(starts[cut[0]]), int(starts[cut[-1] + 1])
            parts_X.append(delayed(lambda a: a)(data.iloc[lo:hi]))
            parts_y.append(delayed(lambda a: a)(pd.Series(target[lo:hi], index=data.index[lo:hi])))
            parts_g.append(sizes[cut])
        dX = dd.from_delayed(parts_X, meta=data.iloc[:0])
        dy = dd.from_delayed(parts_y, meta=pd.Series(dtype=float))
        import dask.array as da

        dg = da.concatenate([da.from_array(g, chunks=len(g)) for g in parts_g])
        return lgb.DaskLGBMRanker(client=self.client, **params).fit(dX, dy, group=dg).to_local()


@contextmanager
def dask_client(scheduler: str | None = None, workers: int = 2) -> Iterator[Client]:
    """A client on ``scheduler``, or on a ``LocalCluster`` of ``workers`` processes; both are
    closed on exit."""
    cluster = (
        None
        if scheduler
        else LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
    )
    client = Client(scheduler or cluster)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


@contextmanager
def dask_fitter(scheduler: str | None = None, workers: int = 2) -> Iterator[DaskFitter]:
    """A fitter on ``scheduler``, or on a ``LocalCluster`` of ``workers`` processes."""
    with dask_client(scheduler, workers) as client:
        yield DaskFitter(
            client,
            partitions=max(workers, len(client.scheduler_info().get("workers", {})) or workers),
        )
