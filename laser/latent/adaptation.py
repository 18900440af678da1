"""Step-size adaptation of HMC by dual averaging, as its own object."""

from __future__ import annotations

import math

__all__ = ["DualAveraging"]


class DualAveraging:
    """Dual-averaging step-size adaptation (Hoffman & Gelman 2014, Alg. 5).

    After each burn-in iteration, :meth:`update` takes the acceptance
    probability averaged over all chains and returns the next step size; the
    step size to keep for sampling is :attr:`final`. The constants are the
    published defaults: shrinkage point mu = log(10 eps0), gamma = 0.05,
    t0 = 10, kappa = 0.75.

    References:
        M. D. Hoffman, A. Gelman, "The No-U-Turn Sampler", JMLR 15 (2014)
        1593, arXiv:1111.4246, Sec. 3.2.
    """

    def __init__(
        self,
        step_size: float,
        target: float,
        gamma: float = 0.05,
        t0: float = 10.0,
        kappa: float = 0.75,
    ):
        self.mu = math.log(10.0 * step_size)
        self.target, self.gamma, self.t0, self.kappa = target, gamma, t0, kappa
        self.m = 0
        self.h_bar = 0.0
        self.log_step_bar = math.log(step_size)

    def update(self, accept_prob: float) -> float:
        """Feed one iteration's mean acceptance probability; return the next step."""
        self.m += 1
        m, eta = self.m, 1.0 / (self.m + self.t0)
        self.h_bar = (1 - eta) * self.h_bar + eta * (self.target - accept_prob)
        log_step = self.mu - math.sqrt(m) / self.gamma * self.h_bar
        weight = m**-self.kappa
        self.log_step_bar = weight * log_step + (1 - weight) * self.log_step_bar
        return math.exp(log_step)

    @property
    def final(self) -> float:
        """The averaged step size, used after burn-in."""
        return math.exp(self.log_step_bar)
