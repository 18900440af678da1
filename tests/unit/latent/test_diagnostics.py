"""HMC health: R-hat, ESS and acceptance checks (laser.latent.diagnostics)."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from laser.latent import diagnostics

N_CHAINS, DRAWS = 50, 200


def iteration_major(per_chain: np.ndarray) -> np.ndarray:
    """(chains, draws, D) -> (draws * chains, D), iteration-major like HMCResult."""
    return per_chain.transpose(1, 0, 2).reshape(-1, per_chain.shape[2])


def table(samples: np.ndarray, acceptance: float = 0.8):
    return diagnostics.hmc_table(samples, N_CHAINS, acceptance, 0.75, 0.1, "toy")


def test_chains_undoes_the_iteration_major_order() -> None:
    per_chain = np.random.default_rng(0).normal(size=(N_CHAINS, DRAWS, 2))
    flat = iteration_major(per_chain)
    np.testing.assert_array_equal(diagnostics.chains(flat, N_CHAINS), per_chain)
    # a partial last iteration is left out
    out = diagnostics.chains(flat[:-3], N_CHAINS)
    np.testing.assert_array_equal(out, per_chain[:, :-1])


def test_independent_draws_are_healthy() -> None:
    per_chain = np.random.default_rng(1).normal(size=(N_CHAINS, DRAWS, 2))
    t = table(iteration_major(per_chain))
    assert list(t.columns) == diagnostics.COLUMNS
    assert len(t) == 2
    assert (t.rhat < diagnostics.RHAT_MAX).all(), t.rhat
    # iid draws: ESS close to the number of draws (10000)
    assert ((t.ess_bulk > 8000) & (t.ess_bulk < 12000)).all(), t.ess_bulk
    assert (t.draws == N_CHAINS * DRAWS).all()
    assert diagnostics.problems(t) == []


def test_chains_stuck_in_different_modes_are_flagged() -> None:
    per_chain = np.random.default_rng(2).normal(size=(N_CHAINS, DRAWS, 2))
    per_chain[: N_CHAINS // 2, :, 0] += 3.0  # half the chains in another mode
    t = table(iteration_major(per_chain))
    assert t.rhat[0] > 1.1 and t.rhat[1] < diagnostics.RHAT_MAX
    found = diagnostics.problems(t)
    assert len(found) == 1 and "R-hat of z0" in found[0]


def test_autocorrelated_chains_have_small_ess() -> None:
    rng = np.random.default_rng(3)
    per_chain = np.zeros((N_CHAINS, DRAWS, 1))
    for i in range(1, DRAWS):  # AR(1), rho = 0.95: ESS ~ N (1 - rho) / (1 + rho)
        per_chain[:, i] = 0.95 * per_chain[:, i - 1] + rng.normal(size=(N_CHAINS, 1))
    t = table(iteration_major(per_chain))
    assert t.ess_bulk[0] < 0.1 * N_CHAINS * DRAWS


@pytest.mark.parametrize(
    ("acceptance", "flagged"), [(0.1, "< 0.3"), (0.995, "> 0.99"), (0.65, None)]
)
def test_acceptance_band(acceptance: float, flagged: str | None) -> None:
    per_chain = np.random.default_rng(4).normal(size=(N_CHAINS, DRAWS, 2))
    found = diagnostics.problems(table(iteration_major(per_chain), acceptance))
    if flagged is None:
        assert found == []
    else:
        assert len(found) == 1 and flagged in found[0], found


def test_too_few_draws_give_nan_and_a_problem() -> None:
    per_chain = np.random.default_rng(5).normal(size=(N_CHAINS, 3, 2))
    t = table(iteration_major(per_chain))
    assert t.rhat.isna().all() and t.ess_bulk.isna().all()
    assert all("not computed" in p for p in diagnostics.problems(t))


def test_report_logs_warnings(caplog: pytest.LogCaptureFixture) -> None:
    per_chain = np.random.default_rng(6).normal(size=(N_CHAINS, DRAWS, 2))
    with caplog.at_level(logging.INFO, logger="laser.latent.diagnostics"):
        diagnostics.report(table(iteration_major(per_chain), acceptance=0.05))
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "HMC HEALTH" in warnings[0].getMessage()


def test_of_run_reads_the_sampler_result(caplog: pytest.LogCaptureFixture) -> None:
    from laser.latent.hmc import HMCResult

    per_chain = np.random.default_rng(7).normal(size=(N_CHAINS, DRAWS, 2))
    result = HMCResult(None, 0.05, 0.5, step_size=0.2)  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, logger="laser.latent.diagnostics"):
        t = diagnostics.of_run(iteration_major(per_chain), N_CHAINS, result, "toy", "m")
    assert (t.acceptance_rate == 0.05).all() and (t.step_size == 0.2).all()
    assert (t.method == "m").all()
    assert any("acceptance rate 0.050" in r.getMessage() for r in caplog.records)
