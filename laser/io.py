"""File I/O of the workflow: sample arrays, checkpoints, tables and figures."""

from __future__ import annotations

import io
import logging
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

__all__ = [
    "DataError",
    "load_samples",
    "load_joined",
    "save_samples",
    "save_model",
    "load_checkpoint",
    "load_model",
    "save_table",
    "load_table",
    "save_figure",
    "save_text",
    "save_events",
    "load_state",
]

log = logging.getLogger(__name__)


class DataError(ValueError):
    """A data or checkpoint file that cannot be used; the message says why."""


def _atomic_path(path: str | os.PathLike, suffix: str) -> tuple[Path, Path]:
    """(final path, temporary sibling): a file appears whole or not at all."""
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=final.parent, prefix=f".{final.name}.", suffix=suffix
    )
    os.close(fd)
    return final, Path(tmp)


def _replace(tmp: Path, final: Path) -> None:
    try:
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


def load_samples(
    path: str | os.PathLike, required: Iterable[str] = ("x",)
) -> dict[str, np.ndarray]:
    """Load a sample file (`.npz` with float arrays `x`, `z`, `w`, ...).

    Every array is checked: the required keys exist, `x` and `z` are 2D with the
    same number of rows as each other and as `w`, and all values are finite.

    Args:
        path: the `.npz` file.
        required: keys that must be present.

    Returns:
        The arrays by key, float arrays as float32.

    Raises:
        DataError: naming the file and what is wrong with it.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise DataError(f"{path}: not a readable .npz file ({e})") from None
    missing = [k for k in required if k not in arrays]
    if missing:
        raise DataError(
            f"{path}: missing array(s) {missing}; the file holds {sorted(arrays)}"
        )
    n = None
    for key, a in arrays.items():
        if not np.issubdtype(a.dtype, np.number) or np.issubdtype(
            a.dtype, np.complexfloating
        ):
            raise DataError(f"{path}: array '{key}' is not numeric ({a.dtype})")
        want = 1 if key == "w" else 2
        if key in ("x", "z", "w") and a.ndim != want:
            raise DataError(
                f"{path}: array '{key}' must be {want}-D, got shape {a.shape}"
            )
        if key in ("x", "z", "w"):
            if a.shape[0] == 0:
                raise DataError(f"{path}: array '{key}' is empty")
            if n is not None and a.shape[0] != n:
                raise DataError(
                    f"{path}: arrays have different numbers of rows ({n} and "
                    f"{a.shape[0]} in '{key}')"
                )
            n = a.shape[0]
            bad = ~np.isfinite(a)
            if bad.any():
                row = int(np.argwhere(bad)[0][0])
                raise DataError(
                    f"{path}: array '{key}' has non-finite values (first at row {row})"
                )
        if np.issubdtype(a.dtype, np.floating):
            arrays[key] = a.astype(np.float32, copy=False)
    return arrays


def load_joined(*paths: str | os.PathLike) -> dict[str, np.ndarray]:
    """The samples of several files (:func:`load_samples`) one after the other:
    their `x`, and their `w` where any file has weights (unit weights for a file
    without).

    Raises:
        DataError: naming the file that cannot be used, or the two files whose
            `x` have different numbers of columns.
    """
    parts = [(Path(p), load_samples(p)) for p in paths]
    (first, a), *rest = parts
    for path, b in rest:
        if b["x"].shape[1] != a["x"].shape[1]:
            raise DataError(
                f"{path}: {b['x'].shape[1]} columns in 'x', but {first} has "
                f"{a['x'].shape[1]}"
            )
    out = {"x": np.concatenate([s["x"] for _, s in parts])}
    if any("w" in s for _, s in parts):
        unit = [np.ones(len(s["x"]), np.float32) for _, s in parts]
        w = [s.get("w", u) for (_, s), u in zip(parts, unit, strict=True)]
        out["w"] = np.concatenate(w)
    return out


def save_samples(path: str | os.PathLike, **arrays: np.ndarray) -> None:
    """Write arrays to an `.npz` file atomically, floats as float32."""
    out = {}
    for key, a in arrays.items():
        a = np.asarray(a)
        out[key] = a.astype(np.float32) if np.issubdtype(a.dtype, np.floating) else a
    final, tmp = _atomic_path(path, ".npz")
    with open(tmp, "wb") as f:
        np.savez(f, **out)
    _replace(tmp, final)


def save_model(
    module: torch.nn.Module, hparams: dict[str, Any], path: str | os.PathLike
) -> None:
    """Save `{"state_dict", "hparams"}` atomically; `hparams` rebuild the model."""
    state = {k: v.detach().cpu() for k, v in module.state_dict().items()}
    # Serialise in memory: torch names the archive after the file, and the temporary
    # file's random name would make equal models differ in bytes.
    buffer = io.BytesIO()
    torch.save({"state_dict": state, "hparams": dict(hparams)}, buffer)
    final, tmp = _atomic_path(path, ".pt")
    tmp.write_bytes(buffer.getvalue())
    _replace(tmp, final)


def _torch_load(path: str | os.PathLike, what: str) -> Any:
    """``torch.load`` with ``weights_only=True``; a DataError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such checkpoint")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - torch raises many types here
        raise DataError(
            f"{path}: not a plain-tensor {what}, refused "
            f"({type(e).__name__}: {str(e).splitlines()[0]})"
        ) from None


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Load a checkpoint with `weights_only=True` (no pickled code is executed)."""
    ckpt = _torch_load(path, "checkpoint")
    if not isinstance(ckpt, dict) or {"state_dict", "hparams"} - ckpt.keys():
        raise DataError(f"{path}: checkpoint lacks 'state_dict' and 'hparams'")
    return ckpt


def load_state(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """A module's state_dict saved with ``torch.save`` (or a checkpoint of this
    workflow, whose ``state_dict`` is taken), loaded with ``weights_only=True``.

    Raises:
        DataError: naming the file, when it is missing, holds pickled code or
            is not a mapping of names to tensors.
    """
    state = _torch_load(path, "state_dict")
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(
        isinstance(v, torch.Tensor) for v in state.values()
    ):
        raise DataError(f"{path}: not a state_dict (a mapping of names to tensors)")
    return state


def load_model(
    path: str | os.PathLike,
    build: Callable[[dict[str, Any]], torch.nn.Module],
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> torch.nn.Module:
    """Rebuild a model from a checkpoint's hparams with `build`; load its weights
    in the checkpoint's own precision (a float64 checkpoint is not rounded through
    the float32 a model is built in), then move it to `dtype` and `device`."""
    ckpt = load_checkpoint(path)
    model = build(ckpt["hparams"])
    floats = [t for t in ckpt["state_dict"].values() if torch.is_floating_point(t)]
    if floats:
        model.to(dtype=floats[0].dtype)
    try:
        model.load_state_dict(ckpt["state_dict"])
    except RuntimeError as e:
        raise DataError(f"{path}: weights do not fit its hparams ({e})") from None
    model.eval()
    return model.to(device=device, dtype=dtype)


def save_table(df: pd.DataFrame, tsv: str | os.PathLike, md: str | None = None) -> None:
    """Write a table as TSV (and optionally a Markdown copy), each atomically."""
    final, tmp = _atomic_path(tsv, ".tsv")
    df.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
    _replace(tmp, final)
    if md is not None:
        final, tmp = _atomic_path(md, ".md")
        tmp.write_text(df.to_markdown(index=False, floatfmt=".4g") + "\n")
        _replace(tmp, final)


def load_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a TSV table written by `save_table`."""
    return pd.read_csv(path, sep="\t")


def save_figure(fig: Any, *paths: str | os.PathLike) -> None:
    """Save a matplotlib figure to each path (format from the suffix), atomically.
    A PDF carries no creation date, so that a rerun writes the same bytes."""
    for p in paths:
        final, tmp = _atomic_path(p, Path(p).suffix)
        pdf = Path(p).suffix.lower() == ".pdf"
        fig.savefig(tmp, dpi=150, metadata={"CreationDate": None} if pdf else None)
        _replace(tmp, final)


def save_text(text: str, path: str | os.PathLike) -> None:
    """Write a text file (UTF-8) atomically."""
    final, tmp = _atomic_path(path, Path(path).suffix)
    tmp.write_text(text, encoding="utf-8")
    _replace(tmp, final)


def save_events(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write an event table (one row per event) as Parquet, atomically."""
    final, tmp = _atomic_path(path, ".parquet")
    df.to_parquet(tmp, index=False)
    _replace(tmp, final)
