"""The feature matrix: a large batch of firms looks its per-firm values up on one aligned index
(``FeatureContext.aligned``) and gets exactly what the lookup per value gives."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from data import columns as C
from data.reference import default_chains, default_parks
from data.universe import load_universe, universe_as_of
from features import build
from tests.conftest import Trained


def test_one_aligned_lookup_gives_what_a_lookup_per_value_gives(
    trained: Trained, monkeypatch: pytest.MonkeyPatch
) -> None:
    tables = load_universe(trained.data_dir)
    park = default_parks()["shibei"]
    fc = build.feature_context(park=park, chains=default_chains(), tables=tables)
    firms = tables["enterprises"]
    # firms the context has never seen (a firm scored on its own) get the defaults either way
    stranger = firms.iloc[:3].assign(**{C.ENTERPRISE_ID: ["x1", "x2", "x3"]})
    batch = pd.concat([firms, stranger], ignore_index=True)
    history = build.latest_tax_history(tables["tax_records"])
    as_of = pd.Timestamp(universe_as_of(trained.data_dir))
    for track in park.tracks:
        monkeypatch.setattr(build, "ALIGNED_FROM", 10**12)
        each = build.firm_features(fc, batch, track=track, as_of=as_of, history=history)
        monkeypatch.setattr(build, "ALIGNED_FROM", 1)
        once = build.firm_features(fc, batch, track=track, as_of=as_of, history=history)
        pd.testing.assert_frame_equal(each, once)
        assert fc.aligned(track) is not None
        assert np.isnan(once["roster_fit"].iloc[-1]) and once["n_links"].iloc[-1] == 0
    # the arrays are made again after a pickle, not carried in it
    assert "_aligned" not in pickle.loads(pickle.dumps(fc)).__dict__


def test_industry_tax_rates_are_worked_out_per_distinct_code() -> None:
    learned = {"gbt4754_2017:6510": 0.05, "sw2021:7101": 0.08, "gbt4754_2017:65": 0.04}
    codes = pd.Series(["651001", "6599", "710102", None, "C39", "651001"], dtype="string")
    schemes = pd.Series(
        ["gbt4754_2017", "gbt4754_2017", "sw2021", "sw2021", None, None], dtype="string"
    )
    got = build.industry_tax_rate(codes, schemes, learned)
    # the most specific learnt prefix of the firm's scheme; none learnt: the reference rate
    assert got[0] == 0.05 and got[1] == 0.04 and got[2] == 0.08
    reference = build._industry_tax_rates()
    for i in (3, 4, 5):
        expected = reference.get(codes.iloc[i]) if codes.iloc[i] is not None else None
        assert (np.isnan(got[i]) and expected is None) or got[i] == expected
    assert build.industry_tax_rate(codes.iloc[0:0], schemes.iloc[0:0], learned).shape == (0,)
