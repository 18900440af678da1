"""HMC's thinning: every thin-th state is kept, which drops most repeats."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from laser.latent import hmc


def log_prob(z: torch.Tensor) -> torch.Tensor:
    """Two separated Gaussians on the first axis, standard on the second."""
    a = -0.5 * ((z[:, 0] - 2) ** 2) / 0.25
    b = -0.5 * ((z[:, 0] + 2) ** 2) / 0.25
    return torch.logaddexp(a, b) - 0.5 * z[:, 1] ** 2


CONFIG = hmc.HMCConfig(step_size=0.7, n_leapfrog=3, n_chains=200, burn_in=10)


def _run(thin: int, n: int) -> hmc.HMCResult:
    init = torch.randn(200, 2, generator=torch.Generator().manual_seed(0)).double()
    cfg = dataclasses.replace(CONFIG, thin=thin)
    return hmc.sample(log_prob, init, n, cfg, torch.Generator().manual_seed(1))


def test_thinned_draws_are_every_thin_th_state_of_the_same_chains() -> None:
    every = _run(1, 200 * 40).samples.reshape(40, 200, 2)
    thinned = _run(2, 200 * 20).samples.reshape(20, 200, 2)
    # the same random numbers per iteration: states 2, 4, ... of the unthinned run
    torch.testing.assert_close(thinned, every[1::2], rtol=0, atol=0)


def test_thinning_drops_most_repeated_states() -> None:
    def repeats(res: hmc.HMCResult, keep: int) -> float:
        z = res.samples.reshape(keep, 200, 2)
        return float((z[1:] == z[:-1]).all(-1).double().mean())

    one, two = _run(1, 200 * 60), _run(2, 200 * 60)
    r1, r2 = repeats(one, 60), repeats(two, 60)
    # a repeat of a thinned draw needs both proposals between them rejected
    assert r1 > 0.1 and r2 < 0.6 * r1, (r1, r2)
    assert two.acceptance_rate == pytest.approx(one.acceptance_rate, abs=0.05)


def test_thin_must_be_a_positive_int() -> None:
    with pytest.raises(ValueError, match="HMCConfig.thin"):
        hmc.HMCConfig(thin=0)
    assert hmc.HMCConfig().thin == 1
    assert np.isfinite(_run(3, 200 * 5).samples.numpy()).all()
