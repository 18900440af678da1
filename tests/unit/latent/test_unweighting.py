"""LaSeR's unweighting (laser.latent.unweighting) and rejection sampling from a
proposal other than the prior (laser.latent.rejection, ``proposal``).

The target is a linear tilt of the prior, log w(z) = b.z - |b|^2 / 2, so that
q = N(b, I); the proposals are Gaussians (or flows) that miss it: the accepted
draws must follow q, where the proposals themselves visibly do not. Tolerances are
4 Monte Carlo standard errors of independent draws.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from torch import nn

from laser.latent import unweighting
from laser.latent.rejection import RejectionConfig, rejection_sample
from laser.latent.target import Target
from laser.models import flows, gan, refiners
from laser.workflow.config import ConfigError, validate

F64 = torch.float64
B = torch.tensor([0.6, -0.4], dtype=F64)


def _tilt(z: torch.Tensor) -> torch.Tensor:
    """log w(z) = b.z - |b|^2 / 2 (N,): q = N(b, I)."""
    return z @ B.to(z) - 0.5 * float(B @ B)


class Tilt(nn.Module):
    """The tilt as a weight of data points x = g(z)."""

    def log_weight(self, x: torch.Tensor) -> torch.Tensor:
        return _tilt(x)


def _gaussian_proposal(mean: float, sd: float):
    """Draws of N(mean, sd^2 I) in 2 D and their log(r / N(0, I))."""

    def propose(n: int, generator: torch.Generator):
        z = mean + sd * torch.randn(n, 2, generator=generator, dtype=F64)
        log_r = -0.5 * (((z - mean) / sd) ** 2).sum(1) - 2 * math.log(sd)
        return z, log_r + 0.5 * (z**2).sum(1)  # the 2 pi terms cancel

    return propose


def _check_normal(z: np.ndarray, mean: np.ndarray) -> None:
    n = len(z)
    assert np.all(np.abs(z.mean(0) - mean) < 4 / math.sqrt(n))
    assert np.all(np.abs(z.std(0) - 1) < 4 / math.sqrt(2 * n))


def test_rejection_from_a_proposal_follows_the_target_not_the_proposal():
    """r = N(0.3, 1.3^2) against q = N(b, I): the accepted draws have q's moments;
    the ratio q / r is bounded here (r is wider), so the largest pilot ratio
    bounds it and nothing is clipped."""
    gen = torch.Generator().manual_seed(1)
    config = RejectionConfig(pilot=200_000, chunk_size=50_000)
    propose = _gaussian_proposal(0.3, 1.3)
    res = rejection_sample(_tilt, 2, 40_000, config, gen, F64, proposal=propose)
    _check_normal(res.samples.numpy(), B.numpy())
    assert res.clipped_fraction < 1e-4
    # the mean ratio E_r[q / r] is q's normalisation, 1 here
    assert abs(res.mean_weight - 1) < 0.02
    raw, _ = propose(40_000, torch.Generator().manual_seed(2))
    assert np.abs(raw.numpy().std(0) - 1).min() > 0.25  # the proposal is off


def test_a_proposal_close_to_the_target_is_accepted_more_often():
    """The acceptance measures how well the proposal learned q: 1 / M for the
    prior (M = sup of q / r over the pilot), near 1 for a proposal at q."""
    config = RejectionConfig(pilot=100_000, chunk_size=50_000, quantile=0.9999)

    def rate(propose) -> float:
        gen = torch.Generator().manual_seed(3)
        res = rejection_sample(_tilt, 2, 20_000, config, gen, F64, proposal=propose)
        return res.acceptance_rate

    prior = rate(_gaussian_proposal(0.0, 1.0))
    near = rate(_gaussian_proposal(0.1, 1.05))  # q's mean is (0.6, -0.4)
    assert near > 1.3 * prior


def _flow(shift, scale, seed: int = 0, random: bool = False) -> flows.RealNVP:
    torch.manual_seed(seed)
    model = flows.RealNVP(2, flows.FlowConfig(n_blocks=2, hidden_units=8), seed)
    if not random:
        refiners.zero_couplings(model)  # the identity up to shift and scale
    model.shift.copy_(torch.as_tensor(shift))
    model.scale.copy_(torch.as_tensor(scale))
    return model.double()


def test_the_refiner_proposal_carries_the_flows_own_density():
    """log(r / N) of a draw equals the flow's density direction, log_prob(z)
    minus log N(z), for a flow with nonzero couplings."""
    phi = _flow([0.2, -0.1], [1.2, 0.8], seed=4, random=True)
    z, log_ratio = unweighting.refiner_proposal(phi)(
        500, torch.Generator().manual_seed(5)
    )
    log_n = -0.5 * (z**2).sum(1) - math.log(2 * math.pi)
    with torch.no_grad():
        expected = phi.log_prob(z) - log_n
    assert torch.allclose(log_ratio, expected, atol=1e-4)


def test_unweighted_refiner_draws_follow_the_target_even_where_the_refiner_is_off():
    """g a rotation (zero couplings: the flow's permutations alone), so that
    x = g(z) follows N(b, I) under q; a refiner at N((0.3, 0), diag(1.3, 1.15)^2):
    the unweighted sample's x has N(b, I)'s moments and quadrant share; the
    refiner's own draws do not; the same seed gives the same bytes."""
    g = _flow([0.0, 0.0], [1.0, 1.0])
    phi = _flow([0.3, 0.0], [1.3, 1.15])
    q = Target(g, Tilt())
    config = RejectionConfig(pilot=100_000, chunk_size=50_000, quantile=0.99999)
    s = unweighting.sample_unweighted(config, q, 40_000, 6, refiner=phi)
    _check_normal(s.x, B.numpy())
    share = (s.x > 0).all(1).mean()  # P(x1 > 0, x2 > 0) under N(b, I)
    exact = 0.5 * math.erfc(-0.6 / math.sqrt(2)) * 0.5 * math.erfc(0.4 / math.sqrt(2))
    assert abs(share - exact) < 4 * math.sqrt(exact * (1 - exact) / 40_000)
    assert s.table.loc[0, "method"] == "laser"
    assert 0 < s.table.loc[0, "acceptance_rate"] < 1
    raw, _ = unweighting.refiner_proposal(phi)(40_000, torch.Generator())
    assert abs(raw[:, 0].std().item() - 1.3) < 0.02  # the refiner alone is off
    again = unweighting.sample_unweighted(config, q, 40_000, 6, refiner=phi)
    assert np.array_equal(again.z, s.z)


def test_a_gan_refiner_cannot_be_unweighted():
    model = gan.Generator(2, gan.GANConfig(latent_dim=4, hidden_units=8))
    with pytest.raises(ValueError, match="refiner.kind: flow"):
        unweighting.refiner_proposal(model)


def test_a_refiner_of_another_dimension_is_refused():
    g = flows.RealNVP(3, flows.FlowConfig(n_blocks=2, hidden_units=8)).double()
    phi = _flow([0.0, 0.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="maps to 2 dimensions.*has 3"):
        unweighting.sample_unweighted(
            RejectionConfig(pilot=10), Target(g, Tilt()), 10, 0, refiner=phi
        )


def test_a_config_that_unweights_a_gan_refiner_is_refused() -> None:
    """The check names the key, the dataset and the refiner's kind; a toy whose
    refiner is a flow passes."""
    root = Path(__file__).resolve().parents[3]
    schema = root / "schemas" / "config.schema.yaml"
    config = yaml.safe_load((root / "config.yaml").read_text())
    config["refiner"]["unweight"] = True
    config["toys"]["rings"]["refiner"] = {"kind": "flow"}
    with pytest.raises(ConfigError) as err:
        validate(copy.deepcopy(config), schema)
    text = str(err.value)
    assert "'refiner.unweight' = true for 'gaussians'" in text
    assert "'refiner.kind' is gan" in text and "'rings'" not in text
    config["refiner"]["kind"] = "flow"
    assert validate(copy.deepcopy(config), schema)["refiner"]["unweight"]
    config["refine"]["iterations"] = 2  # a later round would reweight raw draws
    with pytest.raises(ConfigError, match="'refine.iterations' = 2"):
        validate(config, schema)


def test_unweighting_in_five_dimensions():
    """The same in D = 5: q = N(b5, I) through a rotation g, a refiner off in
    every coordinate (shifted by 0.2, scaled by 1.2): x = g(z) has q's moments."""
    b5 = torch.tensor([0.5, -0.3, 0.2, 0.0, 0.4], dtype=F64)

    class Tilt5(nn.Module):
        def log_weight(self, x: torch.Tensor) -> torch.Tensor:
            return x @ b5.to(x) - 0.5 * float(b5 @ b5)

    def flow5(shift: float, scale: float) -> flows.RealNVP:
        model = flows.RealNVP(5, flows.FlowConfig(n_blocks=2, hidden_units=8), 1)
        refiners.zero_couplings(model)
        model.shift.fill_(shift)
        model.scale.fill_(scale)
        return model.double()

    q = Target(flow5(0.0, 1.0), Tilt5())
    config = RejectionConfig(pilot=100_000, chunk_size=50_000, quantile=0.99999)
    s = unweighting.sample_unweighted(config, q, 20_000, 8, refiner=flow5(0.2, 1.2))
    assert s.x.shape == (20_000, 5)
    _check_normal(s.x, b5.numpy())
