"""Classifier two-sample test: the held-out AUC of a network trained to tell a
method's (weighted) sample from the truth."""

from __future__ import annotations

import logging

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from torch.nn import functional as F

from laser.models import classifier
from laser.training import OptimConfig, fit

__all__ = ["classifier_auc", "weighted_auc", "hanley_mcneil_error"]

logger = logging.getLogger(__name__)


def _check(x: np.ndarray, w: np.ndarray | None, name: str):
    xa = np.asarray(x, dtype=np.float64)
    if xa.ndim == 1:
        xa = xa[:, None]
    if xa.ndim != 2 or len(xa) < 4 or not np.all(np.isfinite(xa)):
        raise ValueError(f"{name} must be finite (N, D) with N >= 4, got {xa.shape}")
    if w is None:
        return xa, None
    wa = np.asarray(w, dtype=np.float64)
    if wa.shape != (len(xa),) or not np.all(np.isfinite(wa)) or not wa.sum() > 0:
        raise ValueError(
            f"weights of {name} must be finite, of shape ({len(xa)},) and sum > 0"
        )
    return xa, wa


def weighted_auc(
    score_pos: np.ndarray,
    score_neg: np.ndarray,
    w_pos: np.ndarray | None = None,
    w_neg: np.ndarray | None = None,
) -> float:
    """AUC = P(score_pos > score_neg) + P(tie) / 2, for signed weights too.

    The weighted Mann-Whitney statistic ``sum_ij w_i w_j [s_i > s_j] / (W+ W-)``
    (ties count 1/2); with non-negative weights it equals
    :func:`sklearn.metrics.roc_auc_score`, which rejects weights that make the
    ROC curve non-monotone.

    Args:
        score_pos: Scores of the positive class (N,).
        score_neg: Scores of the negative class (M,).
        w_pos: Optional weights (N,).
        w_neg: Optional weights (M,).

    Returns:
        The AUC (outside [0, 1] is possible with negative weights).
    """
    sp, sn = np.asarray(score_pos, float), np.asarray(score_neg, float)
    wp = np.ones(len(sp)) if w_pos is None else np.asarray(w_pos, float)
    wn = np.ones(len(sn)) if w_neg is None else np.asarray(w_neg, float)
    order = np.argsort(sn, kind="stable")
    sn, cw = sn[order], np.concatenate([[0.0], np.cumsum(wn[order])])
    below = cw[np.searchsorted(sn, sp, side="left")]
    upto = cw[np.searchsorted(sn, sp, side="right")]
    return float(wp @ (0.5 * (below + upto)) / (wp.sum() * wn.sum()))


def hanley_mcneil_error(auc: float, n_pos: float, n_neg: float) -> float:
    """Hanley-McNeil standard error of an AUC from n_pos and n_neg events.

    ``sqrt((A(1-A) + (n_pos-1)(Q1-A^2) + (n_neg-1)(Q2-A^2)) / (n_pos n_neg))``
    with ``Q1 = A/(2-A)``, ``Q2 = 2A^2/(1+A)``; for weighted samples pass Kish's
    effective sizes ``(sum w)^2 / sum w^2``.

    References:
        Hanley and McNeil, Radiology 143 (1982) 29, Eq. 2.
    """
    a = float(np.clip(auc, 0.0, 1.0))
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    var = a * (1 - a) + (n_pos - 1) * (q1 - a * a) + (n_neg - 1) * (q2 - a * a)
    return float(np.sqrt(max(var, 0.0) / (n_pos * n_neg)))


def _n_eff(w: np.ndarray | None, n: int) -> float:
    return float(n) if w is None else float(w.sum() ** 2 / np.sum(w**2))


def _train_signed(
    x1: np.ndarray,
    x0: np.ndarray,
    w1: np.ndarray,
    w0: np.ndarray,
    config: classifier.ClassifierConfig,
    optim: OptimConfig,
    seed: int,
) -> classifier.Classifier:
    """Weighted BCE with signed weights (``classifier.train`` wants w >= 0)."""
    torch.manual_seed(seed)
    model = classifier.Classifier(x1.shape[1], config).double()
    x = torch.as_tensor(np.concatenate([x1, x0]))
    y = torch.cat([torch.ones(len(x1)), torch.zeros(len(x0))]).double()
    w_all = np.concatenate([w1, w0])
    w = torch.as_tensor(w_all / np.abs(w_all).mean())
    model.shift.copy_(x.mean(0))
    model.scale.copy_(x.std(0).clamp_min(1e-6))

    def loss(xb: torch.Tensor, yb: torch.Tensor, wb: torch.Tensor) -> torch.Tensor:
        bce = F.binary_cross_entropy_with_logits(model(xb), yb, reduction="none")
        return (wb * bce).mean()

    fit(model, loss, [x, y, w], optim, torch.Generator().manual_seed(seed + 1), "auc")
    return model


def classifier_auc(
    truth: np.ndarray,
    sample: np.ndarray,
    w_truth: np.ndarray | None = None,
    w_sample: np.ndarray | None = None,
    *,
    seed: int,
    hidden_layers: int = 3,
    hidden_units: int = 64,
    epochs: int = 20,
    batch_size: int = 512,
    lr: float = 1e-3,
    n_max: int = 100_000,
) -> tuple[float, float]:
    """Held-out AUC of a classifier separating the truth from a method's sample.

    A fresh :class:`laser.models.classifier.Classifier` (truth = 1, sample = 0)
    is trained with :func:`laser.models.classifier.train` (weighted BCE where
    weights are given; signed weights use the same loss in a local loop) on a
    random half of each sample, at most ``n_max`` events of each being used.
    The AUC of its logits on the other halves is computed with
    :func:`sklearn.metrics.roc_auc_score` and the weights (with
    :func:`weighted_auc` if a weight is negative). 0.5 means the classifier
    cannot tell the samples apart (the sample is as good as the truth, cf. the
    classifier metric of arXiv:2106.00792, Sec. 3); below 0.5 is possible on
    held-out data and reported as is.

    The error is the Hanley-McNeil standard error (:func:`hanley_mcneil_error`)
    with Kish effective sizes of the held-out halves: deterministic and cheap;
    it does not include the variation of the training.

    Args:
        truth: Truth events (N, D) (or (N,)).
        sample: The method's events (M, D).
        w_truth: Optional weights of the truth (N,), signed allowed.
        w_sample: Optional weights of the sample (M,), signed allowed.
        seed: Seeds the subsampling, the split, the initialisation and the
            shuffling.
        hidden_layers: Hidden layers of the MLP.
        hidden_units: Units per hidden layer.
        epochs: Training epochs (Adam, learning rate x0.999 per epoch).
        batch_size: Events per update.
        lr: Adam's learning rate.
        n_max: At most this many events of each sample are used.

    Returns:
        ``(auc, error)``.

    References:
        Lopez-Paz and Oquab, "Revisiting classifier two-sample tests",
        arXiv:1610.06545; Hanley and McNeil, Radiology 143 (1982) 29.
    """
    xt, wt = _check(truth, w_truth, "truth")
    xs, ws = _check(sample, w_sample, "sample")
    if xt.shape[1] != xs.shape[1]:
        raise ValueError(f"truth has {xt.shape[1]} columns, sample {xs.shape[1]}")
    rng = np.random.default_rng(seed)
    halves = []
    for x, w in ((xt, wt), (xs, ws)):
        idx = rng.permutation(len(x))[:n_max]
        a, b = idx[: len(idx) // 2], idx[len(idx) // 2 :]
        halves.append(
            (x[a], x[b], None if w is None else w[a], None if w is None else w[b])
        )
    (t_tr, t_te, wt_tr, wt_te), (s_tr, s_te, ws_tr, ws_te) = halves
    config = classifier.ClassifierConfig(hidden_layers, hidden_units)
    optim = OptimConfig(epochs=epochs, batch_size=batch_size, lr=lr)
    signed = any(w is not None and np.any(w < 0) for w in (wt_tr, ws_tr))
    if signed:
        model = _train_signed(
            t_tr,
            s_tr,
            np.ones(len(t_tr)) if wt_tr is None else wt_tr,
            np.ones(len(s_tr)) if ws_tr is None else ws_tr,
            config,
            optim,
            seed,
        )
    else:
        model = classifier.train(
            t_tr, s_tr, config, optim, seed, w_data=wt_tr, w_gen=ws_tr
        )
    st, ss = classifier.logits(model, t_te), classifier.logits(model, s_te)
    if any(w is not None and np.any(w < 0) for w in (wt_te, ws_te)):
        auc = weighted_auc(st, ss, wt_te, ws_te)
    else:
        y = np.concatenate([np.ones(len(st)), np.zeros(len(ss))])
        w = None
        if wt_te is not None or ws_te is not None:
            w = np.concatenate(
                [
                    np.ones(len(st)) if wt_te is None else wt_te,
                    np.ones(len(ss)) if ws_te is None else ws_te,
                ]
            )
        auc = float(roc_auc_score(y, np.concatenate([st, ss]), sample_weight=w))
    err = hanley_mcneil_error(auc, _n_eff(wt_te, len(st)), _n_eff(ws_te, len(ss)))
    logger.info(
        "classifier AUC %.4f +- %.4f (%d vs %d held-out events)",
        auc,
        err,
        len(st),
        len(ss),
    )
    return auc, err
