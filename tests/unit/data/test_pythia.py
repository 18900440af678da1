"""Tests of laser.data.pythia: hadronic Z decays from Pythia 8, as event shapes."""

import numpy as np
import pandas as pd
import pytest

pythia8mc = pytest.importorskip("pythia8mc", reason="Pythia 8 (pythia8mc) is absent")
pytest.importorskip("awkward", reason="Pythia's nextBatch needs awkward")

from laser.data import pythia, shapes  # noqa: E402

N = 400


@pytest.fixture(scope="module")
def events():
    return pythia.generate(N, seed=1)


def test_columns_finite_and_in_range(events):
    assert list(events.columns) == list(pythia.DEFAULT) and len(events) == N
    assert events["multiplicity"].dtype == np.int64
    assert np.isfinite(events.to_numpy(float)).all()
    for name, (low, high) in pythia.BOUNDS.items():
        assert events[name].between(low, high).all(), name
    for name in set(pythia.POSITIVE) & set(events.columns):
        assert (events[name] > 0).all() and (events[name] < 1).all(), name
    assert (events["multiplicity"] >= 2).all()


def test_z_pole_means_near_lep(events):
    """Visible multiplicity (charged + photons from pi0 decays) about 40 and
    <1 - T> about 0.065 at the Z pole (OPAL, DELPHI, ALEPH; loose bounds)."""
    assert 35 < events["multiplicity"].mean() < 52
    assert 0.05 < events["one_minus_thrust"].mean() < 0.085
    assert 0.2 < events["c_parameter"].mean() < 0.33


def test_same_seed_same_events_other_seed_others(events):
    again = pythia.generate(300, seed=1, batch=97)  # batch: memory only
    pd.testing.assert_frame_equal(again, events.iloc[:300])
    other = pythia.generate(300, seed=2)
    assert not np.isclose(
        other["one_minus_thrust"], events["one_minus_thrust"][:300]
    ).all()


def test_processes_do_not_change_the_events():
    one = pythia.generate(150, seed=3, block=50, observables=("y23", "multiplicity"))
    two = pythia.generate(
        150, seed=3, block=50, observables=("y23", "multiplicity"), processes=2
    )
    pd.testing.assert_frame_equal(one, two)
    assert pythia.generate(0, seed=3).empty


def test_shapes_agree_with_pythia_analyses():
    """Thrust, sphericity, aplanarity and the Durham 3-to-2 merging scale of
    Pythia's own `Thrust`, `Sphericity` and `ClusterJet`, on the same events."""
    ours = pythia._pythia(5, 91.2)
    p, e, mask = pythia._visible(ours, 100)
    out = shapes.event_shapes(p, mask, e)
    theirs = pythia._pythia(5, 91.2)
    thrust, sph = pythia8mc.Thrust(2), pythia8mc.Sphericity(2.0, 2)
    durham = pythia8mc.ClusterJet("Durham", 2, 2, False, False)
    ref = []
    for _ in range(100):
        assert theirs.next()
        thrust.analyze(theirs.event)
        sph.analyze(theirs.event)
        durham.analyze(theirs.event, 10.0, 1000.0, 2, 2)  # down to two jets
        ref.append(
            [thrust.thrust(), sph.sphericity(), sph.aplanarity(), durham.distance(0)]
        )
    ref = np.array(ref)
    np.testing.assert_allclose(1 - out["one_minus_thrust"], ref[:, 0], rtol=1e-12)
    np.testing.assert_allclose(out["sphericity"], ref[:, 1], rtol=1e-10)
    np.testing.assert_allclose(out["aplanarity"], ref[:, 2], rtol=1e-8, atol=1e-14)
    # ClusterJet's distances are y E_vis^2 in GeV^2
    np.testing.assert_allclose(out["y23"] * e.sum(1) ** 2, ref[:, 3], rtol=1e-10)


def test_settings_and_errors():
    lines = pythia.settings(900_000_007)
    assert "Random:seed = 7" in lines and "PDF:lepton = off" in lines
    assert "Random:seed = 1" in pythia.settings(0)  # 0 would seed from the clock
    with pytest.raises(ValueError, match="unknown observables"):
        pythia.generate(10, seed=1, observables=("thrust_major",))
    with pytest.raises(ValueError):
        pythia.generate(10, seed=1, batch=0)
