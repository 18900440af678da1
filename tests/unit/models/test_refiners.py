"""Tests of laser.models.refiners: both refiner kinds of Table 2, and the residual
GAN."""

import logging

import numpy as np
import pytest
import torch

from laser import io
from laser.models import flows, refiners
from laser.models.gan import GANConfig, Generator
from laser.workflow import settings

pytestmark = pytest.mark.usefixtures("one_thread")

A = np.array([1.0, -0.5])  # the tilt: N(0, I) weighted by exp(a.z - |a|^2/2) is N(a, I)


def _tilted(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    z = np.random.default_rng(seed).normal(size=(n, 2))
    return z, np.exp(z @ A - A @ A / 2)


FLOW = {
    "kind": "flow",
    "n_train": 10**9,
    "flow": {
        "n_blocks": 4,
        "hidden_layers": 2,
        "hidden_units": 16,
        "clamp": 2.0,
        "epochs": 8,
        "batch_size": 500,
        "lr": 3e-3,
        "weight_decay": 0.0,
        "lr_decay": 0.9,
    },
}
GAN = {
    "kind": "gan",
    "latent_dim": 3,
    "hidden_layers": 2,
    "hidden_units": 16,
    "d_updates": 2,
    "residual": True,
    "epochs": 2,
    "batch_size": 200,
    "lr": 1e-3,
    "beta1": 0.5,
    "beta2": 0.9,
    "lr_decay": 1.0,
}


def test_flow_refiner_learns_the_weighted_density():
    """Weighted maximum likelihood on (z, w) fits q = N(a, I).

    The weighted sample itself has mean a within ~0.03 (Kish ESS ~ 3000 of 8000);
    the refined sample's mean and standard deviation must land within 0.15 of
    N(a, I)'s, while the unweighted fit stays at N(0, I): the weights, not the
    points, move the refiner.
    """
    z, w = _tilted(8000, seed=0)
    ref = refiners.train(z, w, *settings.refiner(FLOW)[:2], seed=0)
    assert isinstance(ref, flows.RealNVP)
    out = refiners.sample(ref, 50_000, seed=1)
    assert out.shape == (50_000, 2) and out.dtype == np.float32
    np.testing.assert_allclose(out.mean(0), A, atol=0.15)
    np.testing.assert_allclose(out.std(0), [1.0, 1.0], atol=0.15)
    plain = refiners.sample(
        refiners.train(z, np.ones(len(z)), *settings.refiner(FLOW)[:2], seed=0),
        50_000,
        1,
    )
    np.testing.assert_allclose(plain.mean(0), [0.0, 0.0], atol=0.15)


def test_flow_refiner_standardises_by_the_weighted_moments():
    z, w = _tilted(8000, seed=2)
    one = {**FLOW, "flow": {**FLOW["flow"], "epochs": 1}}
    ref = refiners.train(z, w, *settings.refiner(one)[:2], seed=0)
    p = w / w.sum()
    mean = p @ z
    np.testing.assert_allclose(ref.shift.numpy(), mean, rtol=1e-4, atol=1e-5)
    std = np.sqrt(p @ (z - mean) ** 2)
    np.testing.assert_allclose(ref.scale.numpy(), std, rtol=1e-4)


def test_flow_refiner_rejects_mismatched_weights():
    with pytest.raises(ValueError, match="weights of shape"):
        refiners.train(
            np.zeros((10, 2)), np.ones(9), *settings.refiner(FLOW)[:2], seed=0
        )


def test_residual_gan_starts_at_the_identity():
    """phi(y) = y[:, :D] before training: the refined generator starts as g."""
    torch.manual_seed(0)
    g = Generator(2, GANConfig(latent_dim=3, residual=True))
    y = torch.randn(100, 3)
    with torch.no_grad():
        assert torch.equal(g(y), y[:, :2])
    plain = Generator(2, GANConfig(latent_dim=3))
    with torch.no_grad():
        assert not torch.allclose(plain(y), y[:, :2], atol=0.1)


def test_residual_gan_needs_enough_latent_dimensions():
    with pytest.raises(ValueError, match="latent_dim >= 2"):
        Generator(2, GANConfig(latent_dim=1, residual=True))


def test_residual_gan_trains_and_follows_the_weights():
    """Six epochs move the residual refiner from N(0, I) towards N(a, I).

    Over seeds 0-4 the weighted run's mean lands at [0.93, 1.42] x [-0.84, -0.28]
    and the unit-weight run's within 0.06 of 0; bounds half-way to a (0.5, -0.25
    is the one with the least margin) separate the two.
    """
    z, w = _tilted(4000, seed=3)
    six = {**GAN, "epochs": 6}
    ref = refiners.train(z, w, *settings.refiner(six)[:2], seed=0)
    assert isinstance(ref, Generator) and ref.config.residual
    out = refiners.sample(ref, 20_000, seed=1)
    assert out[:, 0].mean() > 0.5 and out[:, 1].mean() < -0.2
    plain = refiners.sample(
        refiners.train(z, np.ones(len(z)), *settings.refiner(six)[:2], seed=0),
        20_000,
        1,
    )
    assert np.abs(plain.mean(0)).max() < 0.2


@pytest.mark.parametrize("section", [FLOW, GAN], ids=["flow", "gan"])
def test_checkpoint_round_trip(tmp_path, section):
    z, w = _tilted(1000, seed=4)
    one = {**section, "epochs": 1, "flow": {**FLOW["flow"], "epochs": 1}}
    ref = refiners.train(z, w, *settings.refiner(one)[:2], seed=0)
    path = tmp_path / "refiner.pt"
    io.save_model(ref, ref.hparams, path)
    back = io.load_model(path, refiners.build, torch.float32)
    assert refiners.kind_of(back) == section["kind"]
    np.testing.assert_array_equal(
        refiners.sample(back, 500, seed=7), refiners.sample(ref, 500, seed=7)
    )


def test_build_rejects_other_checkpoints():
    with pytest.raises(ValueError, match="not a refiner checkpoint"):
        refiners.build({"kind": "classifier"})
    with pytest.raises(TypeError, match="not a refiner"):
        refiners.kind_of(torch.nn.Linear(2, 2))


def test_every_pair_of_table_2_has_a_caveat_and_trains(caplog):
    # Table 2's four pairs, and a black box (Sec. 3) with either refiner
    assert set(refiners.CAVEATS) == {
        (g, r) for g in ("flow", "gan", "blackbox") for r in refiners.KINDS
    }
    z, w = _tilted(400, seed=5)
    for generator in ("flow", "gan", "blackbox"):
        for section in (FLOW, GAN):
            one = {**section, "epochs": 1, "flow": {**FLOW["flow"], "epochs": 1}}
            with caplog.at_level(logging.INFO, logger="laser.models.refiners"):
                refiners.train(
                    z, w, *settings.refiner(one)[:2], seed=0, generator=generator
                )
            text = refiners.caveat(generator, section["kind"])
            assert text in caplog.text
    assert "topology" in refiners.caveat("flow", "flow")


def test_unknown_kinds_are_named():
    with pytest.raises(ValueError, match="'vae'"):
        refiners.caveat("vae", "gan")
    with pytest.raises(
        ValueError, match="refiner.kind must be one of \\['gan', 'flow'\\]"
    ):
        settings.refiner({"kind": "vae"})
