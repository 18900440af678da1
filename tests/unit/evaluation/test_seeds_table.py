"""Tables folded over seeds (laser.evaluation.seeds)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from laser.evaluation import seeds


def _table3() -> pd.DataFrame:
    rows = []
    for k, name in enumerate(["rings", "rings.seed2", "rings.seed3"]):
        for method, emd, b0 in [("truth", 0.006, 3), ("hmc", 0.03 + 0.01 * k, 3 + k)]:
            for conv in ("paper", "normalised"):
                rows.append(
                    {
                        "dataset": name,
                        "method": method,
                        "convention": conv,
                        "emd": emd,
                        "jsd": 2 * emd,
                        "floor_emd": 0.006 + 0.001 * k,
                        "floor_jsd": 0.015,
                        "paper_emd": np.nan if method == "truth" else 0.137,
                        "paper_jsd": np.nan,
                        "b0": b0,
                        "b1": 3,
                        "latent_b0": pd.NA if method == "truth" else 2,
                        "latent_b1": pd.NA if method == "truth" else 2,
                        "true_b0": 3,
                        "true_b1": 3,
                        "betti_threshold": 5.3 + k,
                    }
                )
    return pd.DataFrame(rows)


def test_every_score_gets_its_mean_and_sd_over_seeds() -> None:
    out = seeds.over_seeds(_table3())
    assert len(out) == 4  # (truth, hmc) x two conventions
    hmc = out[(out["method"] == "hmc") & (out["convention"] == "paper")].iloc[0]
    assert hmc["dataset"] == "rings" and hmc["seeds"] == 3
    assert hmc["emd"] == pytest.approx(0.04)
    assert hmc["emd_sd"] == pytest.approx(0.01)
    assert hmc["emd_over_floor"] == pytest.approx(0.04 / 0.007)
    assert hmc["betti_threshold"] == pytest.approx(6.3)
    assert hmc["paper_emd"] == pytest.approx(0.137)  # the paper's, not averaged
    assert hmc["b0"] == "3 4 5" and hmc["latent_b0"] == "2 2 2"
    assert hmc["betti_ok"] == 1
    truth = out[(out["method"] == "truth") & (out["convention"] == "paper")].iloc[0]
    assert truth["latent_b0"] == "- - -" and truth["betti_ok"] == 3
    # the truth first, then the methods
    assert list(out["method"][:2]) == ["truth", "hmc"]


def test_the_seeds_are_in_seed_order_whatever_the_rows_order() -> None:
    shuffled = _table3().sample(frac=1.0, random_state=0)
    hmc = seeds.over_seeds(shuffled).query("method == 'hmc'").iloc[0]
    assert hmc["b0"] == "3 4 5"


def test_one_seed_has_no_sd() -> None:
    one = _table3().query("dataset == 'rings'")
    out = seeds.over_seeds(one)
    assert (out["seeds"] == 1).all() and out["emd_sd"].isna().all()
    assert "±" not in seeds.markdown(out)


def test_markdown_gives_mean_sd_ratios_and_betti_per_seed() -> None:
    md = seeds.markdown(seeds.over_seeds(_table3()))
    assert "rings (truth 3, 3)" in md
    assert "0.04 ± 0.01" in md and "5.71" in md and "3 4 5" in md
    assert "noise floor" in md and "HMC" in md


def test_scores_of_events_fold_by_metric() -> None:
    rows = [
        {"dataset": d, "method": m, "metric": "w1", "value": v, "floor": 1.0, "n": 6}
        for d, m, v in [
            ("z", "truth", 1.0),
            ("z", "hmc", 2.0),
            ("z.seed2", "truth", 1.0),
            ("z.seed2", "hmc", 4.0),
        ]
    ]
    out = seeds.over_seeds(pd.DataFrame(rows))
    hmc = out.query("method == 'hmc'").iloc[0]
    assert hmc["value"] == 3.0 and hmc["over_floor"] == 3.0
    assert hmc["value_sd"] == pytest.approx(np.sqrt(2))


def test_an_empty_table_is_refused() -> None:
    with pytest.raises(ValueError, match="no rows"):
        seeds.over_seeds(pd.DataFrame(columns=["dataset", "method"]))
