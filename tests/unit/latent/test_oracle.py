"""The oracle: HMC on the exact weights p_data/p_g of a toy (laser.latent.oracle)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from laser.data import toys as datasets
from laser.latent import hmc, integrator, oracle, target
from laser.models import flows
from laser.models.classifier import LOGIT_BOUND

pytestmark = pytest.mark.usefixtures("one_thread")


def random_flow(dataset: str, seed: int = 0) -> flows.RealNVP:
    """An untrained float64 RealNVP standardised to the toy's scale."""
    torch.manual_seed(seed)
    config = flows.FlowConfig(n_blocks=2, hidden_layers=1, hidden_units=8)
    flow = flows.RealNVP(2, config, permutation_seed=seed).double()
    flow.set_standardisation(torch.as_tensor(datasets.sample(dataset, 10_000, 0)))
    return flow


@pytest.mark.parametrize("dataset", sorted(datasets.TOYS))
def test_exact_log_weight_is_log_p_data_minus_log_p_g(dataset: str) -> None:
    flow = random_flow(dataset)
    x = torch.as_tensor(datasets.sample(dataset, 500, 1), dtype=torch.float64)
    x = torch.cat([x, torch.tensor([[40.0, 40.0]], dtype=torch.float64)])  # far out
    weight = oracle.ExactWeight(flow, dataset)
    expected = datasets.log_prob(dataset, x) - flow.log_prob(x)
    torch.testing.assert_close(weight(x), expected, rtol=0, atol=1e-12)
    # clamped like the classifier's log-weight; the far point hits the bound
    assert expected[-1] < -LOGIT_BOUND
    torch.testing.assert_close(
        weight.log_weight(x), expected.clamp(-LOGIT_BOUND, LOGIT_BOUND)
    )
    # the batched numpy version agrees, as float64
    out = oracle.exact_log_weights(flow, dataset, x.numpy(), batch_size=64)
    assert out.dtype == np.float64 and out.shape == (len(x),)
    np.testing.assert_allclose(out, weight.log_weight(x).detach().numpy(), atol=1e-12)


def test_exact_log_weight_is_differentiable_in_x() -> None:
    flow = random_flow("rings")
    weight = oracle.ExactWeight(flow, "rings")
    x = torch.tensor([[1.0, 3.5], [-11.0, 2.0]], dtype=torch.float64)
    torch.autograd.gradcheck(weight.log_weight, (x.requires_grad_(),))


@pytest.mark.parametrize("dataset", sorted(datasets.TOYS))
def test_one_pass_target_equals_the_pulled_back_exact_weight(dataset: str) -> None:
    """log p_g(g(z)) from z (one pass) equals flow.log_prob(g(z)) (a pass back),
    so the oracle's HMC target is pullback's with the exact weight."""
    flow = random_flow(dataset, seed=2)
    z = torch.randn(300, 2, generator=torch.Generator().manual_seed(5)).double()
    x, log_p_g = oracle.generate_with_log_prob(flow, z)
    torch.testing.assert_close(x, flow.generate(z), rtol=0, atol=1e-12)
    torch.testing.assert_close(log_p_g, flow.log_prob(x), rtol=0, atol=1e-9)
    one_pass = oracle.latent_log_prob(flow, dataset)
    two_pass = target.latent_log_prob(flow, oracle.ExactWeight(flow, dataset))
    torch.testing.assert_close(one_pass(z), two_pass(z), rtol=0, atol=1e-9)
    # and it differs from the prior alone: the weight is not constant
    assert (one_pass(z) + 0.5 * (z**2).sum(-1)).std() > 0.5
    # gradients w.r.t. z agree too (HMC's force)
    _, g1 = integrator.potential_and_grad(one_pass, z)
    _, g2 = integrator.potential_and_grad(two_pass, z)
    torch.testing.assert_close(g1, g2, rtol=1e-7, atol=1e-7)


def test_unknown_dataset_and_init_are_refused() -> None:
    flow = random_flow("gaussians")
    with pytest.raises(ValueError, match="no exact density for dataset 'mine'"):
        oracle.ExactWeight(flow, "mine")
    config = hmc.HMCConfig(n_chains=4, burn_in=0)
    with pytest.raises(ValueError, match="no exact density"):
        oracle.exact_target(flow, "mine")
    with pytest.raises(ValueError, match="init must be"):
        hmc.HMCConfig(n_chains=4, burn_in=0, init="mode")
    learned = target.Target(flow, torch.nn.Identity())
    with pytest.raises(ValueError, match="the oracle samples an exact target"):
        oracle.sample_oracle(config, learned, 8, 0)


def test_prior_start_is_seeded() -> None:
    flow = random_flow("rings")
    config = hmc.HMCConfig(step_size=0.05, n_leapfrog=5, n_chains=20, burn_in=5)
    q = oracle.exact_target(flow, "rings")
    a = oracle.sample_oracle(config, q, 100, 1)
    b = oracle.sample_oracle(config, q, 100, 1)
    c = oracle.sample_oracle(config, q, 100, 2)
    assert (a.table["method"] == "oracle").all()
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    # x is g of exactly the returned z
    np.testing.assert_allclose(a[1], flows.transform(flow, a[0]), atol=1e-5)


def _near_a_centre(x: np.ndarray) -> np.ndarray:
    c = np.asarray(datasets.GAUSSIAN_CENTRES)
    return np.linalg.norm(x[:, None, :] - c, axis=-1).min(1) < 3.0  # (N,)


def test_oracle_maps_onto_the_data_whatever_the_flow() -> None:
    """p(z) w*(g(z)) = p_data(g(z)) |det dg/dz|: the oracle's x follow p_data
    even for an untrained g, whose own samples do not.

    4000 chains x 10 kept iterations from resampled starts: each quadrant's
    share is 1/4 +- 0.007 (chains do not cross in 10 iterations, so the shares
    are those of the starts), mean and std +- ~0.02.
    """
    flow = random_flow("gaussians")
    config = hmc.HMCConfig(
        step_size=0.05,
        n_leapfrog=10,
        n_chains=4000,
        burn_in=40,
        adapt_step_size=True,
        log_every=1000,
        init="resample",
    )
    q = oracle.exact_target(flow, "gaussians")
    z, x, _, result = oracle.sample_oracle(config, q, 40_000, 3)
    assert z.shape == x.shape == (40_000, 2) and z.dtype == x.dtype == np.float32
    assert 0.5 < result.acceptance_rate < 1.0
    x = x.astype(np.float64)
    for sx in (-1, 1):
        for sy in (-1, 1):
            q = x[(np.sign(x[:, 0]) == sx) & (np.sign(x[:, 1]) == sy)]
            assert len(q) / len(x) == pytest.approx(0.25, abs=0.04)
            np.testing.assert_allclose(q.mean(0), [4.0 * sx, 4.0 * sy], atol=0.1)
            np.testing.assert_allclose(q.std(0), [1.0, 1.0], atol=0.1)
    # 98.9% of the data lie within 3 of a centre; the baseline's samples do not
    assert _near_a_centre(x).mean() == pytest.approx(0.989, abs=0.01)
    _, x_g = flows.sample(flow, 40_000, seed=4)
    assert _near_a_centre(x_g).mean() < 0.8
