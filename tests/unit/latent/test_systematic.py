"""Systematic resampling of the chain starts: every share to within one chain."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from laser.latent import target


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("seed", range(5))
def test_every_contiguous_run_gets_its_share_to_within_one(seed: int) -> None:
    rng = np.random.default_rng(seed)
    w = rng.exponential(size=5000) * (rng.random(5000) < 0.7)  # zeros too
    n = 997
    idx = target.systematic_indices(w, n, _gen(seed))
    assert idx.shape == (n,) and (np.diff(idx) >= 0).all()
    assert (w[idx] > 0).all()  # a zero weight is never picked
    counts = np.bincount(idx, minlength=len(w))
    cum = np.concatenate([[0.0], np.cumsum(w) / w.sum()])
    picks = np.concatenate([[0], np.cumsum(counts)])
    for a, b in rng.integers(0, len(w) + 1, size=(200, 2)):
        a, b = min(a, b), max(a, b)
        assert abs(picks[b] - picks[a] - n * (cum[b] - cum[a])) < 1 + 1e-9


def test_systematic_indices_refuses_bad_weights() -> None:
    for w in ([1.0, -1.0], [0.0, 0.0], [1.0, np.nan]):
        with pytest.raises(ValueError, match="finite weights >= 0"):
            target.systematic_indices(np.array(w), 3, _gen(0))


def test_morton_order_keeps_every_orthant_contiguous() -> None:
    rng = np.random.default_rng(0)
    for dim in (1, 2, 3, 6):
        z = rng.normal(size=(4000, dim))
        orthant = (z > 0) @ (2 ** np.arange(dim))  # (N,)
        runs = np.count_nonzero(np.diff(orthant[target.morton_order(z)])) + 1
        assert runs == len(np.unique(orthant)), dim


class Quadrants(torch.nn.Module):
    """g(z) = z, log w: four modes, one per quadrant, with unequal shares."""

    latent_dim = 2
    shares = np.array([0.1, 0.2, 0.3, 0.4])  # quadrant k = (z1 > 0) + 2 (z2 > 0)

    def __init__(self) -> None:
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(()))

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        return z

    def log_weight(self, x: torch.Tensor) -> torch.Tensor:
        k = (x[:, 0] > 0).long() + 2 * (x[:, 1] > 0).long()
        # quadrants have prior mass 1/4: weight 4 s_k gives shares s_k
        return torch.log(4 * torch.as_tensor(self.shares, dtype=x.dtype))[k]


def _quadrant_shares(z: torch.Tensor) -> np.ndarray:
    k = (z[:, 0] > 0).long() + 2 * (z[:, 1] > 0).long()
    return np.bincount(k.numpy(), minlength=4) / len(z)


def test_systematic_starts_carry_the_pool_shares_to_within_one_chain() -> None:
    q = Quadrants()
    n = 1000
    sys_err, mult_err = [], []
    for seed in range(20):
        z = target.systematic_init(q, q, n, _gen(seed), pool=50_000)
        assert z.shape == (n, 2)
        # the pool's own shares, from the same generator state
        pool = torch.randn(50_000, 2, generator=_gen(seed))
        k = ((pool[:, 0] > 0).long() + 2 * (pool[:, 1] > 0).long()).numpy()
        w = 4 * Quadrants.shares[k]
        pool_shares = np.bincount(k, weights=w, minlength=4) / w.sum()
        assert np.abs(_quadrant_shares(z) - pool_shares).max() <= 1 / n + 1e-12
        sys_err.append(np.abs(_quadrant_shares(z) - q.shares).max())
        zm = target.resampled_init(q, q, n, _gen(seed), pool=50_000)
        mult_err.append(np.abs(_quadrant_shares(zm) - q.shares).max())
    # the multinomial picks scatter by sqrt(s(1 - s) / n) ~ 1.4 % of the chains
    assert np.mean(sys_err) < 0.3 * np.mean(mult_err), (sys_err, mult_err)


def test_systematic_starts_are_in_random_order() -> None:
    q = Quadrants()
    z = target.systematic_init(q, q, 1000, _gen(3), pool=20_000)
    k = (z[:, 0] > 0).long() + 2 * (z[:, 1] > 0).long()
    # in Z-order the quadrants would come in 4 runs; shuffled, in hundreds
    assert np.count_nonzero(np.diff(k.numpy())) > 300
