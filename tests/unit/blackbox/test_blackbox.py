"""Tests of laser.blackbox: the interface, its resolution from config, and the
shipped stochastic generators."""

from __future__ import annotations

import re
import sys
import types

import numpy as np
import pytest
import torch
from scipy import stats

from laser.blackbox import base
from laser.blackbox.base import BlackBox, FunctionBlackBox, generate
from laser.blackbox.boxes import GaussianSmear, SmearedGenerator
from laser.blackbox.spec import make, resolve
from laser.models import flows

pytestmark = pytest.mark.usefixtures("one_thread")


class SplitGenerator(torch.nn.Module):
    """g(z) = z + 4 sign(z) in 1D: two halves with the gap (-4, 4) between them."""

    latent_dim = 1

    def __init__(self) -> None:
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(()))

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        return z + 4.0 * torch.sign(z)


def _flow() -> flows.RealNVP:
    torch.manual_seed(0)
    config = flows.FlowConfig(n_blocks=2, hidden_layers=1, hidden_units=8)
    return flows.RealNVP(2, config).eval()


# --- resolve and make -----------------------------------------------------------


def test_resolve_imports_the_named_object():
    assert resolve("laser.blackbox:GaussianSmear") is GaussianSmear
    assert resolve("laser.blackbox:GaussianSmear.log_prob") is GaussianSmear.log_prob


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("laser.blackbox", "expected 'package.module:name'"),
        ("laser:blackbox:GaussianSmear", "expected 'package.module:name'"),
        (":GaussianSmear", "empty module or name"),
        ("laser.no_such_module:Box", "cannot import module 'laser.no_such_module'"),
        ("laser.blackbox:NoSuchBox", "has no 'NoSuchBox'"),
        ("laser.models.classifier:LOGIT_BOUND", "float object is not callable"),
    ],
)
def test_resolve_names_the_spec_in_its_errors(spec, reason):
    with pytest.raises(ValueError, match=re.escape(f"black box {spec!r}")) as err:
        resolve(spec)
    assert reason in str(err.value)


def test_make_builds_a_black_box_from_plain_options():
    options = {"a": 2.0, "sigma": 0.5, "shift": 1.0, "latent_dim": 3}
    box = make("laser.blackbox:GaussianSmear", options)
    assert box == GaussianSmear(a=2.0, sigma=0.5, shift=1.0, latent_dim=3)
    assert box.options == options
    assert make("laser.blackbox:GaussianSmear", box.options) == box
    flow = _flow()
    smeared = make(
        "laser.blackbox:SmearedGenerator", {"widths": [0.0, 1.0]}, generator=flow
    )
    assert isinstance(smeared, SmearedGenerator) and smeared.generator is flow
    # the options of a built black box rebuild it: the same seed, the same x
    again = make("laser.blackbox:SmearedGenerator", smeared.options, generator=flow)
    z = np.random.default_rng(0).standard_normal((100, 2))
    np.testing.assert_array_equal(generate(smeared, z, 3), generate(again, z, 3))


def test_make_rejects_bad_specs_and_options(monkeypatch):
    with pytest.raises(ValueError, match="bad options"):
        make("laser.blackbox:GaussianSmear", {"width": 1.0})
    with pytest.raises(ValueError, match="built on a generator; none given"):
        make("laser.blackbox:SmearedGenerator", {})
    with pytest.raises(ValueError, match="gave a ClassifierConfig, not a black box"):
        make("laser.models.classifier:ClassifierConfig", {})
    # a module of the user's with a ready instance
    module = types.ModuleType("user_generators")
    module.box = FunctionBlackBox(lambda z, rng: z + rng.normal(size=z.shape), 2)
    monkeypatch.setitem(sys.modules, "user_generators", module)
    assert make("user_generators:box") is module.box
    with pytest.raises(ValueError, match="is an instance; it takes no options"):
        make("user_generators:box", {"sigma": 1.0})


# --- the shipped generators ----------------------------------------------------------


def test_shipped_generators_are_black_boxes():
    assert isinstance(GaussianSmear(), BlackBox)
    assert isinstance(SmearedGenerator(_flow()), BlackBox)
    assert isinstance(FunctionBlackBox(lambda z, rng: z, 1, False), BlackBox)
    assert not isinstance(object(), BlackBox)


def test_gaussian_smear_is_stochastic_with_the_stated_output():
    """x = 1.5 z - 1 + 0.5 eps with z ~ N(0, 1): N(-1, 2.5) per coordinate.
    50000 x 2 draws: the standard error of the mean is 0.005, of the variance
    0.011; tolerances 0.03 and 0.06. The residual x - 1.5 z + 1 is N(0, 0.25)."""
    box = GaussianSmear(a=1.5, sigma=0.5, shift=-1.0, latent_dim=2)
    z = np.random.default_rng(0).standard_normal((50_000, 2))
    x = generate(box, z, seed=1)
    assert x.shape == (50_000, 2) and x.dtype == np.float32
    assert box.stochastic
    np.testing.assert_allclose(x.mean(0), -1.0, atol=0.03)
    np.testing.assert_allclose(x.var(0), 2.5, atol=0.06)
    np.testing.assert_allclose((x - 1.5 * z + 1.0).std(0), 0.5, atol=0.01)
    # same z, other hidden random numbers: other x; same seed: same x
    other = generate(box, z, seed=2)
    assert np.abs(other - x).min() > 0 and np.abs(other - x).mean() > 0.3
    np.testing.assert_array_equal(generate(box, z, seed=1), x)
    # the stated density of x when z ~ N(mu, I)
    pts = np.random.default_rng(1).normal(0, 2, (100, 2))
    mu = np.array([0.5, -1.0])
    expected = stats.norm(1.5 * mu - 1.0, np.sqrt(2.5)).logpdf(pts).sum(1)
    np.testing.assert_allclose(box.log_prob(pts, mu), expected, rtol=1e-10)


def test_gaussian_smear_without_smearing_is_deterministic():
    box = GaussianSmear(a=2.0, sigma=0.0, shift=1.0, latent_dim=1)
    z = np.linspace(-2, 2, 5)[:, None]
    assert not box.stochastic
    np.testing.assert_allclose(generate(box, z, 0), 2 * z + 1, rtol=1e-6)
    np.testing.assert_array_equal(generate(box, z, 0), generate(box, z, 1))
    with pytest.raises(ValueError, match="sigma must be >= 0"):
        GaussianSmear(sigma=-1.0)
    with pytest.raises(ValueError, match="a must be non-zero"):
        GaussianSmear(a=0.0)


def test_smeared_generator_mixes_the_flow_with_smearing():
    """RealNVP followed by widths (0, 1) with probabilities (0.3, 0.7), 20000
    points: 30% of the samples are g(z) exactly (standard error 0.003,
    tolerance 0.015), the others g(z) + N(0, 1) (std within 0.03)."""
    flow = _flow()
    box = SmearedGenerator(flow, widths=(0.0, 1.0), probs=(0.3, 0.7))
    assert box.stochastic and box.latent_dim == 2
    z = np.random.default_rng(0).standard_normal((20_000, 2)).astype(np.float32)
    x = generate(box, z, seed=1)
    residual = x - flows.transform(flow, z)  # (N, 2)
    exact = np.all(np.abs(residual) < 1e-6, axis=1)
    assert abs(exact.mean() - 0.3) < 0.015
    np.testing.assert_allclose(residual[~exact].std(0), 1.0, atol=0.03)
    assert np.abs(residual[~exact]).min() > 0
    again = generate(box, z, seed=2)  # same z, other hidden randomness
    assert (np.abs(again - x).max(1) > 1e-6).mean() > 0.7
    np.testing.assert_array_equal(generate(box, z, seed=1), x)


def test_smeared_generator_bridges_the_gap():
    """g(z) = z + 4 sign(z) leaves (-3, 3) empty; half of the points smeared by
    1.5 reach it (expected share ~0.06), so the output is connected where g's is
    not. The rounding puts every x on the grid."""
    z = np.random.default_rng(0).standard_normal((20_000, 1)).astype(np.float32)
    plain = flows.transform(SplitGenerator(), z)
    assert (np.abs(plain) < 3).mean() == 0
    box = SmearedGenerator(SplitGenerator(), widths=(0.0, 1.5), resolution=0.25)
    x = generate(box, z, seed=1)
    share = (np.abs(x) < 3).mean()
    assert 0.03 < share < 0.12
    np.testing.assert_allclose(x / 0.25, np.round(x / 0.25), atol=1e-4)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"widths": (-1.0, 1.0)}, "widths must be a non-empty list of >= 0"),
        ({"widths": ()}, "widths must be a non-empty list of >= 0"),
        ({"widths": (0.0, 0.0)}, "at least one width must be > 0"),
        ({"widths": (0.0, 1.0), "probs": (1.0,)}, "2 widths but 1 probs"),
        ({"probs": (0.2, 0.2)}, "probs must be >= 0 and sum to 1"),
        ({"resolution": -0.1}, "resolution must be >= 0"),
    ],
)
def test_smeared_generator_rejects_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SmearedGenerator(_flow(), **kwargs)


def test_smeared_generator_needs_a_generator():
    with pytest.raises(ValueError, match="not a generator"):
        SmearedGenerator(torch.nn.Linear(2, 2))


# --- generate --------------------------------------------------------------------


def test_generate_checks_shapes_and_finiteness():
    box = GaussianSmear(latent_dim=2)
    with pytest.raises(ValueError, match=r"shape \(5, 3\), the black box takes"):
        generate(box, np.zeros((5, 3)), seed=0)

    def nan_at_row_7(z: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        x = z.copy()
        x[z[:, 0] == 7] = np.nan
        return x

    z = np.arange(10.0)[:, None]
    bad = FunctionBlackBox(nan_at_row_7, 1)
    with pytest.raises(ValueError, match="non-finite sample at row 7"):
        generate(bad, z, seed=0, batch_size=3)  # row 7 is in the third batch
    short = FunctionBlackBox(lambda z, rng: z[1:], 1)
    with pytest.raises(ValueError, match=r"returned shape \(2, 1\) for 3 latent"):
        generate(short, z[:3], seed=0)


def test_generate_draws_one_stream_across_batches():
    """One numpy generator serves every batch, so a seed fixes the bytes; for
    GaussianSmear (one draw per call) batches even give the single-batch draws."""
    box = GaussianSmear(sigma=1.0, latent_dim=2)
    z = np.zeros((1000, 2))
    a = generate(box, z, seed=5, batch_size=100)
    np.testing.assert_array_equal(a, generate(box, z, seed=5, batch_size=100))
    np.testing.assert_array_equal(a, generate(box, z, seed=5))
    assert base.generate(box, z[:0], seed=0).shape == (0, 2)


def test_sample_draws_seeded_latent_points_and_hidden_randomness():
    box = GaussianSmear(a=2.0, sigma=0.5, latent_dim=2)
    z, x = base.sample(box, 5000, seed=3)
    z2, x2 = base.sample(box, 5000, seed=3)
    np.testing.assert_array_equal(z, z2)
    np.testing.assert_array_equal(x, x2)
    assert z.dtype == x.dtype == np.float32 and z.shape == x.shape == (5000, 2)
    # x - a z is the smearing alone: sigma 0.5, independent of z
    noise = x - 2.0 * z
    assert abs(noise.std() - 0.5) < 0.02
    assert abs(np.corrcoef(noise[:, 0], z[:, 0])[0, 1]) < 0.05
    z3, _ = base.sample(box, 5000, seed=4)
    assert not np.array_equal(z, z3)


def test_declared_stochasticity_is_checked():
    smear = GaussianSmear(a=1.0, sigma=0.3, latent_dim=2)
    exact = GaussianSmear(a=1.0, sigma=0.0, latent_dim=2)
    assert base.is_stochastic(smear, seed=1)
    assert not base.is_stochastic(exact, seed=1)
    assert base.check_stochastic(smear, declared=True, seed=1)
    with pytest.raises(ValueError, match="'blackbox.stochastic' is false, but"):
        base.check_stochastic(smear, declared=False, seed=1)
    # a deterministic box declared stochastic is allowed (OmniFold still holds)
    assert not base.check_stochastic(exact, declared=True, seed=1)
