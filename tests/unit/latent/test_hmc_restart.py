"""HMC's restart: after burn-in every chain starts again at its starting point,
with the tuned step size."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
import yaml

from laser.latent import hmc
from laser.workflow.config import ConfigError, validate

ROOT = Path(__file__).resolve().parents[3]


def log_prob(z: torch.Tensor) -> torch.Tensor:
    """The standard normal in two dimensions."""
    return -0.5 * (z**2).sum(1)


# init names where sample_hmc starts the chains; sample takes the starts given
CONFIG = hmc.HMCConfig(
    step_size=0.1,
    n_leapfrog=2,
    n_chains=4000,
    burn_in=100,
    init="systematic",
)


def _first_moves(cfg: hmc.HMCConfig, seed: int = 1) -> tuple[torch.Tensor, float]:
    """Distances of the first kept draws from the starts (4000,), and the step."""
    init = torch.randn(4000, 2, generator=torch.Generator().manual_seed(0)).double()
    res = hmc.sample(log_prob, init, 4000, cfg, torch.Generator().manual_seed(seed))
    return (res.samples - init).norm(dim=1), res.step_size


def test_restarted_chains_are_one_trajectory_from_their_starts() -> None:
    restarted, step = _first_moves(dataclasses.replace(CONFIG, restart=True))
    # a trajectory of 2 leapfrog steps moves at most about 2 step |p|: |p| < 5
    assert float(restarted.max()) < 2 * step * 5 + 1e-9, (restarted.max(), step)
    # without the restart, burn-in's 100 trajectories have carried them far off
    # (independent draws of N(0, I) are 1.77 apart on average)
    carried, _ = _first_moves(CONFIG)
    assert float(carried.mean()) > 3 * float(restarted.mean())


def test_restart_keeps_the_chains_a_valid_sample() -> None:
    init = torch.randn(4000, 2, generator=torch.Generator().manual_seed(2)).double()
    cfg = dataclasses.replace(CONFIG, restart=True)
    res = hmc.sample(log_prob, init, 4000 * 20, cfg, torch.Generator().manual_seed(3))
    z = res.samples
    # started at N(0, I) draws, restarted there: every kept iteration is N(0, I)
    torch.testing.assert_close(z.mean(0), torch.zeros(2).double(), atol=0.03, rtol=0)
    torch.testing.assert_close(z.var(0), torch.ones(2).double(), atol=0.06, rtol=0)


def test_restart_needs_starts_drawn_from_the_target() -> None:
    with pytest.raises(ValueError, match="HMCConfig.restart"):
        hmc.HMCConfig(restart=True)  # init prior
    with pytest.raises(ValueError, match="HMCConfig.restart must be a bool"):
        hmc.HMCConfig(restart=1, init="systematic")
    assert not hmc.HMCConfig().restart


def test_a_config_with_restart_and_prior_starts_is_refused() -> None:
    root = ROOT
    config = yaml.safe_load((root / "config.yaml").read_text())
    config["hmc"]["restart"] = True
    with pytest.raises(ConfigError, match="'hmc.restart' = true .* 'hmc.init'"):
        validate(config, root / "schemas" / "config.schema.yaml")
    config["hmc"]["init"] = "systematic"
    assert validate(config, root / "schemas" / "config.schema.yaml")["hmc"]["restart"]
