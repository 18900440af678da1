"""Tests of laser.models.gan: the weighted-BCE GAN refiner of the latent space."""

import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from laser.models import gan
from laser.models.gan import GANConfig, Generator, discriminator_loss, generator_loss
from laser.training import OptimConfig

TINY = GANConfig(latent_dim=2, hidden_layers=2, hidden_units=16, d_updates=2)


pytestmark = pytest.mark.usefixtures("one_thread")


def _logits(n: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return 2.0 * torch.randn(n, generator=gen, dtype=torch.float64)


def test_unit_weights_equal_unweighted_loss():
    d_real, d_fake = _logits(50, 0), _logits(70, 1)
    plain = discriminator_loss(d_real, d_fake)
    ones = discriminator_loss(d_real, d_fake, torch.ones(50, dtype=torch.float64))
    assert ones.item() == pytest.approx(plain.item(), rel=1e-14)


def test_weights_are_scale_invariant_and_matter():
    d_real, d_fake = _logits(50, 2), _logits(70, 3)
    gen = torch.Generator().manual_seed(4)
    w = torch.rand(50, generator=gen, dtype=torch.float64) * 3.0
    loss = discriminator_loss(d_real, d_fake, w)
    scaled = discriminator_loss(d_real, d_fake, 123.0 * w)
    assert scaled.item() == pytest.approx(loss.item(), rel=1e-12)
    assert loss.item() != pytest.approx(discriminator_loss(d_real, d_fake).item())


def test_zero_weight_removes_a_point():
    d_real, d_fake = _logits(20, 5), _logits(30, 6)
    w = torch.linspace(0.5, 2.0, 20, dtype=torch.float64)
    w0 = w.clone()
    w0[3] = 0.0
    removed = torch.cat([d_real[:3], d_real[4:]])
    w_removed = torch.cat([w[:3], w[4:]])
    with_zero = discriminator_loss(d_real, d_fake, w0)
    assert with_zero.item() == pytest.approx(
        discriminator_loss(removed, d_fake, w_removed).item(), rel=1e-14
    )
    # changing the zero-weighted point's logit changes nothing
    d_moved = d_real.clone()
    d_moved[3] = -50.0
    assert discriminator_loss(d_moved, d_fake, w0).item() == pytest.approx(
        with_zero.item(), rel=1e-14
    )


def _log_sigmoid(t: float) -> float:
    return -math.log1p(math.exp(-t))


def test_discriminator_loss_by_hand():
    """L = -sum w log s(d_real) / sum w - mean log(1 - s(d_fake)), s the sigmoid."""
    d_real = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)
    w = torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64)
    d_fake = torch.tensor([0.3, -0.7, 1.2], dtype=torch.float64)
    real = (
        -(1.0 * _log_sigmoid(0.5) + 2.0 * _log_sigmoid(-1.0) + 0.5 * _log_sigmoid(2.0))
        / 3.5
    )
    # log(1 - s(t)) = log s(-t)
    fake = -(_log_sigmoid(-0.3) + _log_sigmoid(0.7) + _log_sigmoid(-1.2)) / 3
    assert discriminator_loss(d_real, d_fake, w).item() == pytest.approx(
        real + fake, rel=1e-13
    )
    unweighted_real = -(_log_sigmoid(0.5) + _log_sigmoid(-1.0) + _log_sigmoid(2.0)) / 3
    assert discriminator_loss(d_real, d_fake).item() == pytest.approx(
        unweighted_real + fake, rel=1e-13
    )


def test_generator_loss_is_minus_mean_log_sigmoid():
    d_fake = _logits(40, 7)
    expected = -F.logsigmoid(d_fake).mean()
    assert generator_loss(d_fake).item() == pytest.approx(expected.item(), rel=1e-14)
    d = torch.tensor([0.0, 1.0], dtype=torch.float64)
    assert generator_loss(d).item() == pytest.approx(
        -(_log_sigmoid(0.0) + _log_sigmoid(1.0)) / 2, rel=1e-14
    )


def test_losses_are_finite_for_saturated_logits():
    d = torch.tensor([-1e4, 1e4], dtype=torch.float64)
    assert torch.isfinite(discriminator_loss(d, d, torch.ones(2, dtype=torch.float64)))
    assert torch.isfinite(generator_loss(d))


A = 1.5
OPT = OptimConfig(epochs=20, batch_size=200, lr=2e-3, betas=(0.5, 0.9))


def test_train_follows_the_weights():
    """z ~ N(0, 1) weighted by w = exp(a z - a^2/2) is N(a, 1), a = 1.5.

    Over seeds 0-5 the tiny GAN's mean lands in [1.2, 1.8] with these weights and
    in [-0.17, 0.13] with unit weights (on the same points and seed); bounds of
    0.75 (half-way to a) and 0.5 separate the two with margin.
    """
    rng = np.random.default_rng(0)
    z = rng.normal(size=(4000, 1))
    w = np.exp(A * z[:, 0] - A**2 / 2)
    assert np.average(z[:, 0], weights=w) == pytest.approx(A, abs=0.2)
    refined = gan.sample(gan.train(z, w, TINY, OPT, seed=0), 20_000, seed=1)
    plain = gan.sample(gan.train(z, np.ones(4000), TINY, OPT, seed=0), 20_000, seed=1)
    assert refined.mean() > 0.75
    assert 0.5 < refined.std() < 1.5
    assert abs(plain.mean()) < 0.5


def test_train_same_seed_same_generator():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(300, 2))
    w = rng.uniform(0.5, 2.0, 300)
    opt = OptimConfig(epochs=2, batch_size=100)
    a = gan.train(z, w, TINY, opt, seed=3)
    b = gan.train(z, w, TINY, opt, seed=3)
    c = gan.train(z, w, TINY, opt, seed=4)
    for k, v in a.state_dict().items():
        assert torch.equal(v, b.state_dict()[k]), k
    assert not torch.equal(a.net[0].weight, c.net[0].weight)
    np.testing.assert_array_equal(gan.sample(a, 50, seed=0), gan.sample(b, 50, seed=0))


def test_train_rejects_mismatched_weights():
    with pytest.raises(ValueError, match="weights"):
        gan.train(np.zeros((10, 2)), np.ones(9), TINY, OPT, seed=0)


def test_sample_shapes_and_seeds():
    torch.manual_seed(0)
    g = Generator(3, TINY)
    s = gan.sample(g, 257, seed=5)
    assert s.shape == (257, 3) and s.dtype == np.float32
    np.testing.assert_array_equal(s, gan.sample(g, 257, seed=5))
    assert not np.array_equal(s, gan.sample(g, 257, seed=6))
    np.testing.assert_allclose(
        gan.sample(g, 257, seed=5, batch_size=10), s, rtol=1e-5, atol=1e-6
    )
    # the sample is phi(y) for y ~ N(0, I_L) drawn by a generator seeded with `seed`
    y = torch.randn(
        257, 2, generator=torch.Generator().manual_seed(5), dtype=torch.float64
    )
    with torch.no_grad():
        np.testing.assert_allclose(s, g(y.float()).numpy(), rtol=1e-5, atol=1e-6)


def test_build_hparams_round_trip():
    torch.manual_seed(1)
    g = Generator(2, TINY)
    assert g.hparams == {
        "kind": "gan",
        "dim": 2,
        "latent_dim": 2,
        "hidden_layers": 2,
        "hidden_units": 16,
        "d_updates": 2,
        "residual": False,
    }
    clone = gan.build(g.hparams)
    clone.load_state_dict(g.state_dict())
    y = torch.randn(20, 2)
    with torch.no_grad():
        assert torch.equal(clone(y), g(y))
    with pytest.raises(ValueError, match="not a GAN"):
        gan.build({**g.hparams, "kind": "classifier"})


def test_config_rejects_zero_sizes():
    for key in ("latent_dim", "hidden_layers", "hidden_units", "d_updates"):
        with pytest.raises(ValueError, match=key):
            GANConfig(**{key: 0})
