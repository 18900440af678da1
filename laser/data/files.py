"""Events read from files (NumPy .npz, CSV/TSV, Parquet, HDF5, ROOT TTree), checked
row by row, and split into the workflow's samples disjointly and seeded."""

from __future__ import annotations

import csv
import logging
import os
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from laser.data.transforms import FeatureSpec, dequantise, domain_errors
from laser.io import DataError

__all__ = [
    "FORMATS",
    "ROLES",
    "EventSource",
    "format_of",
    "read",
    "check_events",
    "split",
    "draw",
    "prepare",
]

log = logging.getLogger(__name__)

#: The formats and the file suffixes that name them (``format: auto``).
FORMATS = {
    "npz": (".npz",),
    "csv": (".csv",),
    "tsv": (".tsv", ".txt"),
    "parquet": (".parquet", ".pq"),
    "hdf5": (".h5", ".hdf5", ".hdf"),
    "root": (".root",),
}
#: The samples the workflow draws from a dataset: the baseline's training points,
#: the classifier's target points, the truth and the independent truth.
ROLES = ("train", "classifier", "truth", "truth_test")


@dataclass(frozen=True)
class EventSource:
    """Where a dataset's events are and which columns are used.

    Attributes:
        features: the D feature columns, by name.
        path: one file every sample is drawn from (disjointly); or None with
            `files`.
        files: one file per role of :data:`ROLES` instead of `path`.
        format: a key of :data:`FORMATS`, or ``auto`` (from the suffix).
        weight: the per-event weight column, or None (unit weights).
        key: the HDF5 group or dataset, or the ROOT tree, holding the columns
            (HDF5: the file's root where None; ROOT: required).
    """

    features: tuple[str, ...]
    path: str | None = None
    files: Mapping[str, str] = field(default_factory=dict)
    format: str = "auto"
    weight: str | None = None
    key: str | None = None

    def __post_init__(self) -> None:
        if not self.features:
            raise ValueError("features: at least one column must be named")
        doubled = sorted({f for f in self.features if self.features.count(f) > 1})
        if doubled:
            raise ValueError(f"features: column(s) {doubled} named more than once")
        if self.weight is not None and self.weight in self.features:
            raise ValueError(f"weight: column '{self.weight}' is also a feature")
        if (self.path is None) == (not self.files):
            raise ValueError("give either path (one file) or files (one per role)")
        if self.files and set(self.files) != set(ROLES):
            raise ValueError(
                f"files must name one file per role {list(ROLES)}, got "
                f"{sorted(self.files)}"
            )
        if self.format != "auto" and self.format not in FORMATS:
            raise ValueError(
                f"format: unknown {self.format!r}; known: ['auto', *{list(FORMATS)}]"
            )

    @property
    def paths(self) -> list[str]:
        """Every file of the dataset."""
        return [self.path] if self.path is not None else [self.files[r] for r in ROLES]


def format_of(path: str | os.PathLike, declared: str = "auto") -> str:
    """The format of `path`: `declared`, or from the file's suffix for ``auto``.

    Raises:
        DataError: naming the file, for a suffix no format has.

    Examples:
        >>> format_of("events.parquet")
        'parquet'
    """
    if declared != "auto":
        return declared
    suffix = Path(path).suffix.lower()
    for name, suffixes in FORMATS.items():
        if suffix in suffixes:
            return name
    raise DataError(
        f"{path}: unknown format (suffix '{suffix}'); set 'format' to one of "
        f"{list(FORMATS)} or use one of the suffixes {FORMATS}"
    )


def _header(path: Path, sep: str) -> list[str]:
    with open(path, newline="") as f:
        for row in csv.reader(f, delimiter=sep):
            if row and not row[0].startswith("#"):
                return [c.strip() for c in row]
    return []


def _columns(path: Path, fmt: str, names: list[str], key: str | None) -> pd.DataFrame:
    """The named columns of the file, as read (any dtype), one per name."""
    if fmt in ("csv", "tsv"):
        sep = "," if fmt == "csv" else "\t"
        header = _header(path, sep)
        doubled = sorted({c for c in header if header.count(c) > 1} & set(names))
        if doubled:
            raise DataError(f"{path}: column(s) {doubled} appear more than once")
        _missing(path, names, header)
        return pd.read_csv(path, sep=sep, usecols=names, comment="#")[names]
    if fmt == "parquet":
        import pyarrow.parquet as pq

        available = pq.read_schema(path).names
        _missing(path, names, available)
        return pd.read_parquet(path, columns=names)[names]
    if fmt == "npz":
        with np.load(path, allow_pickle=False) as f:
            _missing(path, names, f.files)
            return pd.DataFrame({n: _one_d(path, n, f[n]) for n in names})
    if fmt == "hdf5":
        import h5py

        with h5py.File(path, "r") as f:
            node = f[key] if key else f
            if isinstance(node, h5py.Dataset):  # a table of named fields
                available = list(node.dtype.names or [])
                _missing(path, names, available)
                return pd.DataFrame({n: np.asarray(node[n]) for n in names})
            available = [k for k in node if isinstance(node[k], h5py.Dataset)]
            _missing(path, names, available)
            return pd.DataFrame({n: _one_d(path, n, node[n][()]) for n in names})
    if fmt == "root":
        import uproot

        if not key:
            raise DataError(f"{path}: a ROOT file needs 'key', the TTree's name")
        with uproot.open(path) as f:
            if key not in f:
                raise DataError(
                    f"{path}: no TTree '{key}'; the file holds {sorted(f.keys())}"
                )
            tree = f[key]
            _missing(path, names, list(tree.keys()))
            arrays = tree.arrays(names, library="np")
            return pd.DataFrame({n: _one_d(path, n, arrays[n]) for n in names})
    raise DataError(f"{path}: unknown format '{fmt}'")


def _missing(path: Path, names: list[str], available: Sequence[str]) -> None:
    missing = [n for n in names if n not in available]
    if missing:
        raise DataError(
            f"{path}: no column(s) {missing}; the file has {sorted(available)}"
        )


def _one_d(path: Path, name: str, a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim != 1:
        raise DataError(
            f"{path}: column '{name}' has shape {a.shape}, not one value per row"
        )
    return a


def _numeric(path: Path, df: pd.DataFrame) -> np.ndarray:
    """The columns as float64 (N, K), each checked: numeric, finite, not empty."""
    if len(df) == 0:
        raise DataError(f"{path}: no rows")
    out = np.empty((len(df), df.shape[1]))
    for j, name in enumerate(df.columns):
        col = df[name]
        values = pd.to_numeric(col, errors="coerce")
        bad = values.isna() & col.notna()
        if bad.any() or col.dtype == bool:
            row = int(np.flatnonzero(bad.to_numpy())[0]) if bad.any() else 0
            raise DataError(
                f"{path}: column '{name}' is not numeric (row {row}: {col.iloc[row]!r})"
            )
        out[:, j] = values.to_numpy(dtype=np.float64, na_value=np.nan)
        nonfinite = np.flatnonzero(~np.isfinite(out[:, j]))
        if len(nonfinite):
            row = nonfinite[0]
            raise DataError(
                f"{path}: column '{name}' has a non-finite value at row {row} "
                f"({out[row, j]}; {len(nonfinite)} such rows)"
            )
    return out


def read(
    path: str | os.PathLike, source: EventSource
) -> tuple[np.ndarray, np.ndarray | None]:
    """Read the features (N, D) and weights (N,) or None of one file of `source`.

    Every value is checked: the file exists and has a known format; every
    feature and the weight column exist once and are numeric; no value is NaN or
    infinite (the first bad row is named); no feature is constant.

    Raises:
        DataError: naming the file, the column and the row where one applies.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    fmt = format_of(path, source.format)
    names = [*source.features, *([source.weight] if source.weight else [])]
    try:
        df = _columns(path, fmt, names, source.key)
    except DataError:
        raise
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as e:
        raise DataError(
            f"{path}: not a readable {fmt} file ({type(e).__name__}: {e})"
        ) from None
    values = _numeric(path, df)  # (N, D [+ 1])
    d = len(source.features)
    x, w = values[:, :d], (values[:, d] if source.weight else None)
    check_events(x, source.features, str(path))
    if w is not None and not np.any(w > 0):
        raise DataError(
            f"{path}: weight column '{source.weight}' has no positive entry"
        )
    if w is not None and w.sum() <= 0:
        raise DataError(
            f"{path}: the weights in '{source.weight}' sum to {w.sum():g} <= 0"
        )
    negative = 0 if w is None else int((w < 0).sum())
    log.info(
        "%s: %d events, %d features%s%s",
        path,
        len(x),
        d,
        f", weights '{source.weight}'" if w is not None else "",
        f", {negative} with negative weights" if negative else "",
    )
    return x, w


def check_events(x: np.ndarray, names: Sequence[str], where: str) -> None:
    """Raise DataError naming `where` and the feature for a constant feature of x."""
    for j, name in enumerate(names):
        if len(x) > 1 and np.all(x[:, j] == x[0, j]):
            raise DataError(
                f"{where}: feature '{name}' is constant ({x[0, j]:g} in every row); "
                "drop it from 'features'"
            )


def split(
    arrays: tuple[np.ndarray, np.ndarray | None],
    sizes: Mapping[str, int],
    seed: int,
    where: str,
) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """Disjoint samples of sizes `sizes` (role -> n) from one file's events, drawn
    by one seeded permutation of the rows: role k takes the next n_k rows of it.

    Raises:
        DataError: naming `where`, when the file has fewer rows than the sum.
    """
    x, w = arrays
    need = sum(sizes.values())
    if need > len(x):
        wanted = ", ".join(f"{r} {n}" for r, n in sizes.items())
        raise DataError(
            f"{where}: {len(x)} events, fewer than the {need} the samples need "
            f"({wanted}); lower the sizes (data.n_train, data.n_classifier, "
            "data.n_eval) or give more events"
        )
    order = np.random.default_rng(seed).permutation(len(x))
    out, start = {}, 0
    for role, n in sizes.items():
        rows = np.sort(order[start : start + n])
        out[role] = (x[rows], None if w is None else w[rows])
        start += n
    return out


def draw(
    source: EventSource,
    sizes: Mapping[str, int],
    seed: int,
    specs: Sequence[FeatureSpec] | None = None,
) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """The samples of `sizes` (role -> n, roles of :data:`ROLES`) of a dataset:
    from its one file disjointly (:func:`split`), or each from its own file.

    Every file is read and checked in full (:func:`read`, and every value
    against its transform's domain where `specs` are given,
    :func:`laser.data.transforms.domain_errors`) before any sample is returned,
    so that bad data stop the workflow before any training.

    Raises:
        DataError: naming the file and every problem found (a feature outside
            its domain with the file's first such row and the number of rows).
    """

    def checked(path: str) -> tuple[np.ndarray, np.ndarray | None]:
        x, w = read(path, source)
        errors = domain_errors(x, specs, source.features) if specs else []
        if errors:
            raise DataError(f"{path}: " + "; ".join(errors))
        return x, w

    if source.path is not None:
        return split(checked(source.path), sizes, seed, source.path)
    out = {}
    for i, (role, n) in enumerate(sizes.items()):
        path = source.files[role]
        out.update(split(checked(path), {role: n}, seed + i, path))
    return out


def prepare(
    source: EventSource,
    specs: Sequence[FeatureSpec],
    sizes: Mapping[str, int],
    seed: int,
) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """The workflow's samples of a dataset of events, checked in full first.

    Draws the samples (:func:`draw`, which refuses a file with values outside
    their transform's domain, every such feature named with its first row), and
    dequantises the features that ask for it in the samples that train
    networks (``train``, ``classifier``); the truth samples keep their integers.

    Raises:
        DataError: naming the file and every problem found.
    """
    samples = draw(source, sizes, seed, specs)
    rng = np.random.default_rng([seed, 1])
    for role in ("train", "classifier"):
        if role in samples:
            x, w = samples[role]
            samples[role] = (dequantise(x, specs, rng), w)
    return samples
