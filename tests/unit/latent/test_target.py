"""Latent pull-back: the HMC target and its resampled starting points."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from laser.latent import hmc, target


class ShiftFlow(torch.nn.Module):
    """g(z) = z + 1: a stand-in generator (only generate, latent_dim and
    parameters are used)."""

    dim = latent_dim = 2

    def __init__(self) -> None:
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros((), dtype=torch.float64))

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        return z + 1.0


class TiltClassifier(torch.nn.Module):
    """log w(x) = a . (x - 1): the pulled-back target is N(a, I)."""

    def __init__(self, a: torch.Tensor) -> None:
        super().__init__()
        self.a = a

    def log_weight(self, x: torch.Tensor) -> torch.Tensor:
        return (x - 1.0) @ self.a


A = torch.tensor([0.8, -0.5], dtype=torch.float64)


def test_resampled_init_follows_the_tilted_target() -> None:
    gen = torch.Generator().manual_seed(0)
    z = target.resampled_init(ShiftFlow(), TiltClassifier(A), 20_000, gen)
    assert z.shape == (20_000, 2)
    assert z.dtype == torch.float64
    # N(a, I); the standard error of a mean of 20000 draws is 0.007, and
    # resampling from a finite pool adds a little
    torch.testing.assert_close(z.mean(0), A, atol=0.04, rtol=0)
    torch.testing.assert_close(
        z.var(0), torch.ones(2, dtype=A.dtype), atol=0.06, rtol=0
    )


def test_prior_init_is_not_the_target() -> None:
    # the check above can fail: the prior's mean is 0, not a
    gen = torch.Generator().manual_seed(1)
    z = torch.randn(20_000, 2, generator=gen, dtype=torch.float64)
    assert (z.mean(0) - A).abs().max() > 0.4


@pytest.mark.parametrize("init", ["prior", "resample", "systematic"])
def test_sample_hmc_reaches_the_tilted_target(init: str) -> None:
    cfg = hmc.HMCConfig(
        step_size=0.1, n_leapfrog=10, n_chains=500, burn_in=30, chunk_size=128
    )
    cfg = dataclasses.replace(cfg, init=init)
    z, x, table, res = hmc.sample_hmc(
        cfg, target.Target(ShiftFlow(), TiltClassifier(A)), 50_000, 3
    )
    assert list(table["dim"]) == [0, 1] and (table["method"] == "hmc").all()
    assert z.shape == x.shape == (50_000, 2)
    np.testing.assert_allclose(x, z + 1.0, atol=1e-6)
    assert res.acceptance_rate > 0.8
    chains = z.reshape(100, 500, 2).mean(axis=0)  # per-chain means (500, 2)
    se = chains.std(axis=0) / math.sqrt(500)
    assert (np.abs(z.mean(0) - A.numpy()) < 5 * se).all(), (z.mean(0), se)


def test_hmc_config_refuses_an_unknown_init() -> None:
    with pytest.raises(
        ValueError,
        match=r"HMCConfig.init must be one of \[.prior., .resample., .systematic.\]",
    ):
        hmc.HMCConfig(n_chains=4, burn_in=0, init="x")
    assert hmc.HMCConfig().init == "prior"
