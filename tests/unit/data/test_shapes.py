"""Tests of laser.data.shapes: closed forms, symmetries and brute force."""

import itertools

import numpy as np
import pytest

from laser.data import shapes

R3 = np.sqrt(3.0) / 2.0
BACK_TO_BACK = np.array([[[0.0, 0.0, 7.0], [0.0, 0.0, -7.0]]])  # (1, 2, 3)
MERCEDES = 5.0 * np.array([[[1.0, 0.0, 0.0], [-0.5, R3, 0.0], [-0.5, -R3, 0.0]]])


def _random_events(rng, n, m, *, planar=False):
    """Random events, multiplicities 2..m, padded to m with garbage."""
    p = rng.normal(size=(n, m, 3)) * rng.exponential(1.0, (n, m, 1))
    if planar:
        p[..., 2] = 0.0
    mask = np.arange(m) < rng.integers(2, m + 1, n)[:, None]
    e = np.sqrt((p**2).sum(-1) + rng.uniform(0.0, 0.2, (n, m)) ** 2)  # massive
    return np.where(mask[..., None], p, 99.0), np.where(mask, e, -5.0), mask


def _rotation(rng):
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


def _brute_thrust(p):
    signs = np.array(list(itertools.product([-1.0, 1.0], repeat=len(p))))
    return np.linalg.norm(signs @ p, axis=1).max() / np.linalg.norm(p, axis=1).sum()


def _naive_y23(p, e):
    """Durham clustering to three jets, one merge at a time, in pure Python."""
    jets, evis2 = [(p[k], e[k]) for k in range(len(p))], e.sum() ** 2

    def y(a, b):
        cos = a[0] @ b[0] / np.linalg.norm(a[0]) / np.linalg.norm(b[0])
        return 2.0 * min(a[1], b[1]) ** 2 * (1.0 - cos) / evis2

    while True:
        pairs = itertools.combinations(range(len(jets)), 2)
        best, i, j = min((y(jets[i], jets[j]), i, j) for i, j in pairs)
        if len(jets) == 3:
            return best
        jets[i] = (jets[i][0] + jets[j][0], jets[i][1] + jets[j][1])
        del jets[j]


def test_back_to_back():
    out = shapes.event_shapes(BACK_TO_BACK)
    for name in shapes.OBSERVABLES[:-1]:
        assert out[name][0] == pytest.approx(0.0, abs=1e-12), name  # y23: < 3 jets
    assert out["multiplicity"].tolist() == [2]
    t, axis = shapes.thrust_axis(BACK_TO_BACK)
    np.testing.assert_allclose(axis[0], [0.0, 0.0, 1.0])
    assert t[0] == 1.0


def test_mercedes_closed_forms():
    """Three massless particles of equal energy at 120 degrees in a plane:
    T = 2/3, C = 3/4, S = 3/4 (tensor eigenvalues 1/2, 1/2, 0), A = 0,
    rho_H = 1/3 (one particle against two), y23 = 1/3, B_T = B_W = sqrt(3)/6."""
    out = shapes.event_shapes(MERCEDES)
    expect = {
        "one_minus_thrust": 1 / 3,
        "c_parameter": 3 / 4,
        "sphericity": 3 / 4,
        "aplanarity": 0.0,
        "heavy_mass": 1 / 3,
        "y23": 1 / 3,
        "total_broadening": np.sqrt(3) / 6,
        "wide_broadening": np.sqrt(3) / 6,
    }
    for name, value in expect.items():
        assert out[name][0] == pytest.approx(value, abs=1e-12), name


def test_isotropic_limit():
    """A Fibonacci sphere of 400 unit momenta: T -> 1/2, S, C -> 1, A -> 1/2."""
    k = np.arange(400) + 0.5
    z, phi = 1.0 - 2.0 * k / 400, np.pi * (1.0 + 5**0.5) * k
    r = np.sqrt(1.0 - z**2)
    p = np.stack([r * np.cos(phi), r * np.sin(phi), z], -1)[None]  # (1, 400, 3)
    out = shapes.event_shapes(p, names=("one_minus_thrust", "c_parameter"))
    assert out["one_minus_thrust"][0] == pytest.approx(0.5, abs=2e-3)
    assert out["c_parameter"][0] == pytest.approx(1.0, abs=1e-4)
    assert shapes.sphericity(p)[0] == pytest.approx(1.0, abs=1e-4)
    assert shapes.aplanarity(p)[0] == pytest.approx(0.5, abs=1e-4)


@pytest.mark.parametrize("planar", [False, True])
def test_thrust_is_exact_against_all_hemispheres(planar):
    rng = np.random.default_rng(1 + planar)
    for m in range(2, 11):
        p = rng.normal(size=(40, m, 3)) * rng.exponential(1.0, (40, m, 1))
        if planar:
            p[..., 2] = 0.0
        brute = np.array([_brute_thrust(x) for x in p])
        np.testing.assert_allclose(shapes.thrust(p), brute, rtol=0, atol=1e-12)
        seeded = shapes.thrust(p, exact=False)
        assert (seeded <= brute + 1e-12).all()


def test_thrust_axis_gives_thrust():
    p, _, mask = _random_events(np.random.default_rng(3), 50, 12)
    t, axis = shapes.thrust_axis(p, mask)
    np.testing.assert_allclose(np.linalg.norm(axis, axis=1), 1.0)
    assert (axis[:, 2] >= 0).all()
    q = np.where(mask[..., None], p, 0.0)
    direct = np.abs(q @ axis[..., None])[..., 0].sum(1) / np.linalg.norm(
        q, axis=-1
    ).sum(1)
    np.testing.assert_allclose(t, direct, rtol=1e-12)


def test_y23_against_naive_clustering():
    p, e, mask = _random_events(np.random.default_rng(4), 30, 12)
    naive = [
        _naive_y23(p[k, mask[k]], e[k, mask[k]]) if mask[k].sum() >= 3 else 0.0
        for k in range(len(p))
    ]
    np.testing.assert_allclose(shapes.durham_y23(p, mask, e), naive, rtol=1e-12)


def test_rotation_and_padding_invariance():
    rng = np.random.default_rng(5)
    p, e, mask = _random_events(rng, 60, 9)
    ref = shapes.event_shapes(p, mask, e)
    rotated = np.where(mask[..., None], p @ _rotation(rng).T, 0.0)
    # real particles moved to the back, shuffled, behind 4 more padding slots
    perm = np.argsort(rng.random(p.shape[:2]) + mask, axis=1)  # (E, M)
    wide = np.concatenate(
        [np.full((60, 4, 3), 3.0), np.take_along_axis(rotated, perm[..., None], 1)], 1
    )
    wide_e = np.concatenate([np.ones((60, 4)), np.take_along_axis(e, perm, 1)], 1)
    wide_mask = np.concatenate(
        [np.zeros((60, 4), bool), np.take_along_axis(mask, perm, 1)], 1
    )
    out = shapes.event_shapes(wide, wide_mask, wide_e)
    for name in shapes.OBSERVABLES:
        np.testing.assert_allclose(
            out[name], ref[name], rtol=1e-9, atol=1e-12, err_msg=name
        )


def test_ranges_and_functions_agree_with_event_shapes():
    p, e, mask = _random_events(np.random.default_rng(6), 200, 15)
    out = shapes.event_shapes(p, mask, e)
    bounds = {
        "one_minus_thrust": 0.5,
        "c_parameter": 1,
        "sphericity": 1,
        "aplanarity": 0.5,
    }
    for name, high in bounds.items():
        assert (out[name] >= -1e-12).all() and (out[name] <= high + 1e-12).all(), name
    for name in ("heavy_mass", "y23", "total_broadening", "wide_broadening"):
        assert (out[name] >= 0).all() and (out[name] <= 1).all(), name
    assert (out["wide_broadening"] <= out["total_broadening"]).all()
    np.testing.assert_array_equal(out["multiplicity"], mask.sum(1))
    singles = {
        "one_minus_thrust": 1 - shapes.thrust(p, mask),
        "c_parameter": shapes.c_parameter(p, mask),
        "sphericity": shapes.sphericity(p, mask),
        "aplanarity": shapes.aplanarity(p, mask),
        "heavy_mass": shapes.heavy_mass(p, mask, e),
        "y23": shapes.durham_y23(p, mask, e),
        "total_broadening": shapes.total_broadening(p, mask),
        "wide_broadening": shapes.wide_broadening(p, mask),
    }
    for name, value in singles.items():
        np.testing.assert_allclose(out[name], value, rtol=1e-12, err_msg=name)


def test_errors():
    with pytest.raises(ValueError, match="unknown observables"):
        shapes.event_shapes(MERCEDES, names=("thrust_major",))
    with pytest.raises(ValueError, match="shape"):
        shapes.thrust(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="mask"):
        shapes.thrust(MERCEDES, np.ones((1, 4), bool))
