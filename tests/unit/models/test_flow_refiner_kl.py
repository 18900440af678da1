"""The flow refiner's identity start and its reverse-KL term against q(z)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from laser.models import flows, gan, refiners
from laser.training import OptimConfig

pytestmark = pytest.mark.usefixtures("one_thread")

A = torch.tensor([1.0, -0.5], dtype=torch.float64)
ARCH = flows.FlowConfig(n_blocks=4, hidden_layers=2, hidden_units=16)
OPTIM = OptimConfig(epochs=6, batch_size=500, lr=3e-3, lr_decay=0.9)


def _tilted(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Prior points weighted by exp(a.z - |a|^2/2): N(0, I) tilted to N(a, I)."""
    z = np.random.default_rng(seed).normal(size=(n, 2))
    return z, np.exp(z @ A.numpy() - float(A @ A) / 2)


def log_q(z: torch.Tensor) -> torch.Tensor:
    """log of N(a, I) up to a constant: the tilted target, known exactly."""
    return -0.5 * ((z - A.to(z)) ** 2).sum(1)


def _reverse_kl(model: flows.RealNVP, n: int = 20_000) -> float:
    """KL(r || N(a, I)) estimated on the model's own draws."""
    y = torch.randn(
        n, 2, generator=torch.Generator().manual_seed(5), dtype=torch.float64
    )
    with torch.no_grad():
        z, log_r = refiners.log_prob_of_generated(model, y)
    log_norm = -math.log(2 * math.pi)
    return float((log_r - log_q(z) - log_norm).mean())


def test_log_prob_of_generated_equals_the_flows_density() -> None:
    torch.manual_seed(0)
    model = flows.RealNVP(2, ARCH).double()
    y = torch.randn(64, 2, dtype=torch.float64)
    with torch.no_grad():
        z, log_r = refiners.log_prob_of_generated(model, y)
        torch.testing.assert_close(z, model.generate(y))
        torch.testing.assert_close(log_r, model.log_prob(z))


def test_identity_start_is_the_weighted_gaussian() -> None:
    z, w = _tilted(5000, 0)
    model = refiners.train_flow(
        z, w, ARCH, OptimConfig(epochs=1, lr=1e-12), 1, torch.float64, identity=True
    )
    y = torch.randn(100, 2, dtype=torch.float64)
    with torch.no_grad():
        out = model.generate(y)
    # the couplings are the identity to float32 rounding of their global scales
    torch.testing.assert_close(out, model.shift + model.scale * y, atol=1e-5, rtol=0)
    p = w / w.sum()
    np.testing.assert_allclose(model.shift.numpy(), p @ z, rtol=1e-10)


def test_a_reverse_kl_refiner_reaches_the_tilted_gaussian() -> None:
    z, w = _tilted(6000, 1)
    model = refiners.train_flow(
        z, w, ARCH, OPTIM, 2, torch.float64, identity=True, reverse_kl=1.0, log_q=log_q
    )
    y = torch.randn(40_000, 2, generator=torch.Generator().manual_seed(3)).double()
    with torch.no_grad():
        x = model.generate(y)
    # N(a, I): the mean to ~0.02 (MC error 0.005 plus the fit), unit variances
    torch.testing.assert_close(x.mean(0), A, atol=0.05, rtol=0)
    torch.testing.assert_close(x.var(0), torch.ones(2).double(), atol=0.08, rtol=0)
    assert _reverse_kl(model) < 0.01


def test_the_reverse_kl_term_lowers_the_reverse_kl_on_few_points() -> None:
    # 300 weighted points: likelihood alone overfits them; the term pulls r to q
    z, w = _tilted(300, 4)
    kw = {"dtype": torch.float64, "identity": False}
    opt = OptimConfig(epochs=40, batch_size=100, lr=3e-3, lr_decay=0.97)
    mle = refiners.train_flow(z, w, ARCH, opt, 6, **kw)
    both = refiners.train_flow(z, w, ARCH, opt, 6, reverse_kl=1.0, log_q=log_q, **kw)
    assert _reverse_kl(both) < 0.5 * _reverse_kl(mle), (
        _reverse_kl(both),
        _reverse_kl(mle),
    )


def test_reverse_kl_needs_a_flow_refiner_and_a_target() -> None:
    z, w = _tilted(100, 0)
    with pytest.raises(ValueError, match="needs the target log q"):
        refiners.train_flow(z, w, ARCH, OPTIM, 0, reverse_kl=1.0)
    with pytest.raises(ValueError, match="must be >= 0"):
        refiners.train_flow(z, w, ARCH, OPTIM, 0, reverse_kl=-1.0, log_q=log_q)
    with pytest.raises(ValueError, match="reverse_kl needs the flow refiner"):
        refiners.train(z, w, gan.GANConfig(), OPTIM, 0, reverse_kl=1.0, log_q=log_q)
