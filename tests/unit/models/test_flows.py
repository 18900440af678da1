"""Tests of laser.models.flows: the RealNVP baseline g(z) and its (weighted)
likelihood."""

import math

import numpy as np
import pytest
import torch

from laser.models import flows
from laser.models.flows import FlowConfig, RealNVP, build, nll
from laser.training import OptimConfig

TINY = FlowConfig(n_blocks=3, hidden_layers=1, hidden_units=8)


pytestmark = pytest.mark.usefixtures("one_thread")


def _model(dim: int = 2, config: FlowConfig = TINY, seed: int = 0) -> RealNVP:
    """A float64 flow far from the identity, with a non-trivial standardisation.

    The coupling subnets are perturbed (their outputs are scaled by 0.1 inside
    FrEIA, so the initial map is close to affine) and shift/scale are set away
    from (0, 1), so every term of the log-determinant is exercised.
    """
    torch.manual_seed(seed)
    model = RealNVP(dim, config, permutation_seed=seed).double()
    gen = torch.Generator().manual_seed(seed + 100)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.requires_grad:
                s = 0.7 if "subnet" in name else 0.2
                p.add_(s * torch.randn(p.shape, generator=gen, dtype=p.dtype))
        model.shift.copy_(torch.linspace(-1.0, 2.0, dim, dtype=torch.float64))
        model.scale.copy_(torch.linspace(0.6, 1.7, dim, dtype=torch.float64))
    return model


def _points(n: int, dim: int, seed: int = 1) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return 1.5 * torch.randn(n, dim, generator=gen, dtype=torch.float64)


def test_model_is_far_from_affine():
    """Guard of the tests below: the perturbed flow has a point-dependent log-det."""
    model = _model()
    _, log_jac = model(_points(200, 2))
    assert log_jac.std() > 0.1


@pytest.mark.parametrize("dim", [2, 3])
def test_generate_inverts_forward(dim):
    model = _model(dim)
    x = _points(500, dim)
    with torch.no_grad():
        z, _ = model(x)
        x_back = model.generate(z)
        z2 = _points(500, dim, seed=7)
        z2_back, _ = model(model.generate(z2))
    assert not torch.allclose(z, x, atol=0.1)  # the map does something
    torch.testing.assert_close(x_back, x, rtol=0, atol=1e-10)
    torch.testing.assert_close(z2_back, z2, rtol=0, atol=1e-10)


@pytest.mark.parametrize("dim", [2, 3])
def test_log_det_matches_autograd_jacobian(dim):
    model = _model(dim)
    x = _points(8, dim, seed=3)
    _, log_jac = model(x)
    for i in range(len(x)):
        jac = torch.autograd.functional.jacobian(
            lambda v: model(v.unsqueeze(0))[0].squeeze(0), x[i]
        )  # (D, D) = dz/dx
        sign, logabsdet = torch.linalg.slogdet(jac)
        assert sign != 0
        assert log_jac[i].item() == pytest.approx(logabsdet.item(), abs=1e-10)


def test_log_prob_is_change_of_variables_with_standard_normal():
    model = _model()
    x = _points(50, 2, seed=4)
    z, log_jac = model(x)
    normal = torch.distributions.Normal(
        torch.zeros(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64)
    )
    expected = normal.log_prob(z).sum(1) + log_jac
    torch.testing.assert_close(model.log_prob(x), expected, rtol=0, atol=1e-12)


def test_log_prob_integrates_to_sample_fractions():
    """The integral of p_g over a box is the fraction of samples g(z) in the box.

    A wide box (sample quantiles 0.05 % to 99.95 %, plus 2) holds nearly all the
    mass; a narrow box cuts part of it. Their midpoint-rule integrals (300 x 300
    cells) must match the fractions of 200k samples inside them (standard errors
    <= 0.0011): within 0.003 for the wide box, 0.01 for the narrow one.
    """
    model = _model()
    _, xs = flows.sample(model, 200_000, seed=5)
    xs = xs.astype(np.float64)
    lo, mid, hi = np.quantile(xs, [0.0005, 0.5, 0.9995], axis=0)
    spread = xs.std(axis=0)
    boxes = [
        [(lo[i] - 2, hi[i] + 2) for i in (0, 1)],
        [(mid[i] - 0.7 * spread[i], mid[i] + 0.5 * spread[i]) for i in (0, 1)],
    ]
    integrals, fractions = [], []
    for box in boxes:
        edges = [np.linspace(a, b, 301) for a, b in box]
        centres = [0.5 * (e[1:] + e[:-1]) for e in edges]
        gx, gy = np.meshgrid(*centres, indexing="ij")
        grid = torch.as_tensor(np.stack([gx.ravel(), gy.ravel()], 1))
        with torch.no_grad():
            p = model.log_prob(grid).exp().numpy()
        cell = np.diff(edges[0])[0] * np.diff(edges[1])[0]
        integrals.append(p.sum() * cell)
        inside = [(xs[:, i] >= box[i][0]) & (xs[:, i] <= box[i][1]) for i in (0, 1)]
        fractions.append(np.mean(inside[0] & inside[1]))
    assert integrals[0] == pytest.approx(fractions[0], abs=3e-3)
    assert integrals[0] > 0.99
    assert 0.2 < fractions[1] < 0.8  # the narrow box really cuts the mass
    assert integrals[1] == pytest.approx(fractions[1], abs=0.01)


def test_gradients_reach_every_trainable_parameter():
    model = _model()
    loss = nll(model, _points(64, 2))
    loss.backward()
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    assert len(trainable) > 0
    for name, p in trainable:
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name
    # the fixed permutations are not trained
    frozen = [n for n, p in model.named_parameters() if not p.requires_grad]
    assert frozen and all("w_perm" in n for n in frozen)


def test_build_from_hparams_reproduces_outputs_exactly():
    model = _model(3)
    hp = model.hparams
    assert hp == {
        "kind": "realnvp",
        "dim": 3,
        "permutation_seed": 0,
        "n_blocks": 3,
        "hidden_layers": 1,
        "hidden_units": 8,
        "clamp": 2.0,
    }
    clone = build(hp).double()
    clone.load_state_dict(model.state_dict())
    x = _points(100, 3)
    with torch.no_grad():
        z, lj = model(x)
        z2, lj2 = clone(x)
        assert torch.equal(z, z2)
        assert torch.equal(lj, lj2)
        assert torch.equal(model.generate(z), clone.generate(z))
    assert torch.equal(clone.shift, model.shift)
    assert torch.equal(clone.scale, model.scale)


def test_build_rejects_other_kinds():
    hp = {**_model().hparams, "kind": "classifier"}
    with pytest.raises(ValueError, match="not a RealNVP"):
        build(hp)


def test_nll_weights():
    model = _model()
    x = _points(40, 2)
    gen = torch.Generator().manual_seed(2)
    w = torch.rand(40, generator=gen, dtype=torch.float64) + 0.1
    with torch.no_grad():
        logp = model.log_prob(x)
        plain = nll(model, x)
        assert plain.item() == pytest.approx(-logp.mean().item(), abs=1e-12)
        ones = nll(model, x, torch.ones(40, dtype=torch.float64))
        assert ones.item() == pytest.approx(plain.item(), abs=1e-12)
        weighted = nll(model, x, w)
        expected = -(w * logp).sum() / w.sum()
        assert weighted.item() == pytest.approx(expected.item(), abs=1e-12)
        assert weighted.item() != pytest.approx(plain.item(), abs=1e-6)
        assert nll(model, x, 37.0 * w).item() == pytest.approx(
            weighted.item(), abs=1e-12
        )
        # a zero weight removes the point
        w0 = w.clone()
        w0[:10] = 0.0
        assert nll(model, x, w0).item() == pytest.approx(
            nll(model, x[10:], w[10:]).item(), abs=1e-12
        )


def test_flow_config_rejects_zero_sizes():
    for key in ("n_blocks", "hidden_layers", "hidden_units"):
        with pytest.raises(ValueError, match=key):
            FlowConfig(**{key: 0})


def _gaussian(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal([3.0, -1.0], [2.0, 0.5], size=(n, 2))


GAUSS_CFG = FlowConfig(n_blocks=2, hidden_layers=1, hidden_units=16)
GAUSS_OPT = OptimConfig(epochs=4, batch_size=250, lr=2e-3)


def test_train_fits_a_gaussian():
    """Trained on N((3, -1), diag(2, 0.5)^2), the flow matches its moments and entropy.

    Tolerances: 20k samples give standard errors of 0.007 sigma on the mean and
    0.005 sigma on the std; the affine standardisation can represent this target
    exactly, so a few epochs must bring the coupling blocks near the identity: we
    allow 0.1 sigma on means, 10 % on stds and 0.05 nats on the held-out NLL,
    whose optimum is the entropy log(2 pi e) + log(2 * 0.5) = 2.838.
    """
    seed = 11
    x = _gaussian(4000, seed=0)
    model = flows.train(x, GAUSS_CFG, GAUSS_OPT, seed=seed, dtype=torch.float64)
    _, xs = flows.sample(model, 20_000, seed=1)
    mean, std = xs.mean(0), xs.std(0)
    np.testing.assert_array_less(np.abs(mean - [3.0, -1.0]), [0.2, 0.05])
    np.testing.assert_array_less(np.abs(std / [2.0, 0.5] - 1.0), [0.1, 0.1])
    held_out = torch.as_tensor(_gaussian(4000, seed=1))
    entropy = math.log(2 * math.pi * math.e) + math.log(2.0 * 0.5)
    with torch.no_grad():
        trained = nll(model, held_out).item()
        torch.manual_seed(seed)  # the untrained model train() starts from
        start = RealNVP(2, GAUSS_CFG, permutation_seed=seed).double()
        start.set_standardisation(torch.as_tensor(x))
        untrained = nll(start, held_out).item()
    assert trained == pytest.approx(entropy, abs=0.05)
    assert trained < untrained  # training improved the fit


def test_train_weighted_uses_weights():
    """Weights w ~ exp(x0) tilt N(0, 1) to N(1, 1) in x0: the weighted fit moves."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4000, 2))
    w = np.exp(x[:, 0] - 0.5)
    opt = OptimConfig(epochs=3, batch_size=200, lr=1e-2)
    model = flows.train(x, GAUSS_CFG, opt, seed=2, weights=w, dtype=torch.float64)
    _, xs = flows.sample(model, 20_000, seed=3)
    # target mean (1, 0); the standardisation starts it at (0, 0)
    assert abs(xs[:, 0].mean() - 1.0) < 0.25
    assert abs(xs[:, 1].mean()) < 0.15
    unweighted = flows.train(x, GAUSS_CFG, opt, seed=2, dtype=torch.float64)
    _, xu = flows.sample(unweighted, 20_000, seed=3)
    assert abs(xu[:, 0].mean()) < 0.15


def test_train_same_seed_same_parameters():
    x = _gaussian(600, seed=2)
    opt = OptimConfig(epochs=2, batch_size=200)
    a = flows.train(x, TINY, opt, seed=5).state_dict()
    b = flows.train(x, TINY, opt, seed=5).state_dict()
    c = flows.train(x, TINY, opt, seed=6).state_dict()
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert any(not torch.equal(a[k], c[k]) for k in a if "subnet" in k)


def test_train_three_dimensions():
    rng = np.random.default_rng(4)
    cov = np.array([[1.0, 0.5, 0.0], [0.5, 2.0, 0.3], [0.0, 0.3, 0.5]])
    x = rng.multivariate_normal([1.0, 0.0, -2.0], cov, size=1000)
    model = flows.train(x, TINY, OptimConfig(epochs=1, batch_size=250), seed=0)
    assert model.dim == 3 and model.hparams["dim"] == 3
    torch.testing.assert_close(
        model.shift, torch.as_tensor(x.mean(0), dtype=torch.float32)
    )
    z, xs = flows.sample(model, 500, seed=0)
    assert z.shape == xs.shape == (500, 3)
    assert np.isfinite(xs).all()
    with torch.no_grad():
        z_back, _ = model(torch.as_tensor(xs))
    np.testing.assert_allclose(z_back.numpy(), z, atol=1e-4)


def test_building_does_not_touch_numpy_global_rng():
    np.random.seed(123)  # noqa: NPY002
    RealNVP(4, FlowConfig(n_blocks=4, hidden_layers=1, hidden_units=4), 9)
    after = np.random.random(5)  # noqa: NPY002
    np.random.seed(123)  # noqa: NPY002
    untouched = np.random.random(5)  # noqa: NPY002
    np.testing.assert_array_equal(after, untouched)


def _perms(model: RealNVP) -> list[torch.Tensor]:
    return [b.w_perm.detach().clone() for b in model.inn.module_list]


def test_permutations_follow_the_permutation_seed_only():
    cfg = FlowConfig(n_blocks=4, hidden_layers=1, hidden_units=4)
    np.random.seed(1)  # noqa: NPY002
    a = _perms(RealNVP(4, cfg, permutation_seed=3))
    np.random.seed(2)  # noqa: NPY002
    b = _perms(RealNVP(4, cfg, permutation_seed=3))
    c = _perms(RealNVP(4, cfg, permutation_seed=4))
    assert all(torch.equal(p, q) for p, q in zip(a, b, strict=True))
    assert any(not torch.equal(p, q) for p, q in zip(a, c, strict=True))
    for p in a:  # each is a permutation matrix
        m = p.squeeze()
        assert torch.equal(m.sum(0), torch.ones(4)) and torch.equal(
            m.sum(1), torch.ones(4)
        )


def test_sample_and_transform():
    model = _model()
    z, x = flows.sample(model, 3000, seed=8)
    assert z.dtype == x.dtype == np.float32 and z.shape == x.shape == (3000, 2)
    assert np.abs(z.mean(0)).max() < 0.07  # 4 standard errors
    assert np.abs(z.std(0) - 1).max() < 0.05
    z2, x2 = flows.sample(model, 3000, seed=8)
    np.testing.assert_array_equal(z, z2)
    np.testing.assert_array_equal(x, x2)
    z3, _ = flows.sample(model, 3000, seed=9)
    assert not np.array_equal(z, z3)
    with torch.no_grad():
        ref = model.generate(torch.as_tensor(z, dtype=torch.float64)).numpy()
    # x = g(z) of exactly the stored float32 z
    np.testing.assert_allclose(x, ref.astype(np.float32), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(x, flows.transform(model, z))
    batched = flows.transform(model, z, batch_size=7)
    np.testing.assert_allclose(batched, flows.transform(model, z), rtol=1e-6)
