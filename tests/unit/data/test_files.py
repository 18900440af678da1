"""Tests of laser.data.files: events read from every file format, every bad input
refused with a DataError naming the file and the problem, and the seeded,
disjoint split into the workflow's samples."""

import re

import h5py
import numpy as np
import pandas as pd
import pytest
import uproot

from laser.data.files import (
    FORMATS,
    ROLES,
    EventSource,
    check_events,
    draw,
    format_of,
    prepare,
    read,
    split,
)
from laser.data.transforms import FeatureSpec
from laser.io import DataError

FEATURES = ("a", "b", "c")
N = 40


def _table(n: int = N, seed: int = 0) -> dict[str, np.ndarray]:
    """Three float64 feature columns (a > 0, b in (0, 1), c any) and a weight."""
    rng = np.random.default_rng(seed)
    return {
        "a": rng.lognormal(0.0, 1.0, n),
        "b": rng.uniform(0.05, 0.95, n),
        "c": rng.normal(0.0, 2.0, n),
        "w": rng.uniform(0.5, 1.5, n),
    }


def _write(path, fmt: str, cols: dict[str, np.ndarray], key: str | None = None):
    """Write the columns with the format's own library."""
    if fmt == "npz":
        with open(path, "wb") as f:  # savez would append .npz to other suffixes
            np.savez(f, **cols)
    elif fmt == "csv":
        pd.DataFrame(cols).to_csv(path, index=False)
    elif fmt == "tsv":
        pd.DataFrame(cols).to_csv(path, sep="\t", index=False)
    elif fmt == "parquet":
        pd.DataFrame(cols).to_parquet(path)
    elif fmt == "hdf5-group":
        with h5py.File(path, "w") as f:
            group = f.create_group(key) if key else f
            for name, values in cols.items():
                group.create_dataset(name, data=values)
    elif fmt == "hdf5-table":
        table = np.empty(len(next(iter(cols.values()))), [(n, "f8") for n in cols])
        for name, values in cols.items():
            table[name] = values
        with h5py.File(path, "w") as f:
            f.create_dataset(key, data=table)
    elif fmt == "root":
        with uproot.recreate(path) as f:
            f[key] = dict(cols)
    else:
        raise AssertionError(fmt)
    return path


def _source(path, **kw) -> EventSource:
    kw.setdefault("features", FEATURES)
    return EventSource(path=str(path), **kw)


def _stack(cols: dict[str, np.ndarray], names=FEATURES) -> np.ndarray:
    return np.stack([cols[n] for n in names], 1)


# (writer, suffix, declared format, key)
CASES = [
    ("npz", ".npz", "npz", None),
    ("csv", ".csv", "csv", None),
    ("tsv", ".tsv", "tsv", None),
    ("tsv", ".txt", "tsv", None),
    ("parquet", ".parquet", "parquet", None),
    ("parquet", ".pq", "parquet", None),
    ("hdf5-group", ".h5", "hdf5", None),
    ("hdf5-group", ".hdf5", "hdf5", "events"),
    ("hdf5-table", ".hdf", "hdf5", "events"),
    ("root", ".root", "root", "tree"),
]


@pytest.mark.parametrize("writer,suffix,fmt,key", CASES)
@pytest.mark.parametrize("declared", ["auto", "explicit"])
@pytest.mark.parametrize("weighted", [False, True])
def test_read_every_format(tmp_path, writer, suffix, fmt, key, declared, weighted):
    cols = _table()
    path = _write(tmp_path / f"events{suffix}", writer, cols, key)
    source = _source(
        path,
        format="auto" if declared == "auto" else fmt,
        weight="w" if weighted else None,
        key=key,
    )
    x, w = read(path, source)
    assert x.dtype == np.float64 and x.shape == (N, 3)
    # CSV/TSV round-trip the decimal text: equal to the last bit (pandas writes
    # repr-exact floats) but allow one ulp for the text parser
    np.testing.assert_allclose(x, _stack(cols), rtol=1e-15, atol=0)
    if weighted:
        assert w.dtype == np.float64 and w.shape == (N,)
        np.testing.assert_allclose(w, cols["w"], rtol=1e-15, atol=0)
    else:
        assert w is None


@pytest.mark.parametrize("writer,suffix,fmt,key", CASES)
def test_read_the_named_columns_in_feature_order(tmp_path, writer, suffix, fmt, key):
    cols = _table()
    path = _write(tmp_path / f"events{suffix}", writer, cols, key)
    x, _ = read(path, _source(path, features=("c", "a"), key=key))
    np.testing.assert_allclose(x, _stack(cols, ("c", "a")), rtol=1e-15, atol=0)


def test_explicit_format_overrides_the_suffix(tmp_path):
    cols = _table()
    path = _write(tmp_path / "events.dat", "csv", cols)
    x, _ = read(path, _source(path, format="csv"))
    np.testing.assert_allclose(x, _stack(cols), rtol=1e-15)


def test_integer_and_float32_columns_become_float64(tmp_path):
    cols = {"a": np.arange(10, dtype=np.int32), "b": np.linspace(0, 1, 10, dtype="f4")}
    path = _write(tmp_path / "events.parquet", "parquet", cols)
    x, _ = read(path, _source(path, features=("a", "b")))
    assert x.dtype == np.float64
    np.testing.assert_array_equal(x[:, 0], np.arange(10))
    np.testing.assert_array_equal(x[:, 1], cols["b"].astype(np.float64))


def test_format_of():
    for name, suffixes in FORMATS.items():
        for suffix in suffixes:
            assert format_of(f"dir/events{suffix}") == name
            assert format_of(f"dir/EVENTS{suffix.upper()}") == name
    assert format_of("events.bin", "parquet") == "parquet"
    with pytest.raises(DataError, match=r"events\.bin: unknown format.*'\.bin'"):
        format_of("events.bin")


# --- bad files ------------------------------------------------------------------


def _raises(path, source, *patterns):
    """read() raises a DataError whose message names the file and every pattern."""
    with pytest.raises(DataError) as info:
        read(path, source)
    message = str(info.value)
    assert str(path) in message
    for pattern in patterns:
        assert re.search(pattern, message), (pattern, message)
    return message


def test_missing_file(tmp_path):
    path = tmp_path / "absent.csv"
    _raises(path, _source(path), "no such file")


def test_unknown_suffix_with_format_auto(tmp_path):
    path = _write(tmp_path / "events.dat", "csv", _table())
    _raises(path, _source(path), "unknown format", r"\.dat")


@pytest.mark.parametrize("writer,suffix,fmt,key", CASES)
def test_missing_feature_column_lists_the_available_ones(
    tmp_path, writer, suffix, fmt, key
):
    path = _write(tmp_path / f"events{suffix}", writer, _table(), key)
    source = _source(path, features=("a", "nope"), key=key)
    message = _raises(path, source, r"no column\(s\) \['nope'\]")
    for available in ("a", "b", "c", "w"):
        assert f"'{available}'" in message.split("the file has")[1]


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_column_duplicated_in_the_header(tmp_path, fmt):
    sep = "," if fmt == "csv" else "\t"
    path = tmp_path / f"events.{fmt}"
    rows = [sep.join(["a", "b", "a"])] + [
        sep.join(str(v) for v in (i, i * 2, i * 3)) for i in range(5)
    ]
    path.write_text("\n".join(rows) + "\n")
    _raises(path, _source(path, features=("a", "b")), r"\['a'\]", "more than once")


def test_non_numeric_column_names_column_and_row(tmp_path):
    cols = {k: v.astype(object) for k, v in _table().items()}
    cols["b"][7] = "abc"
    path = _write(tmp_path / "events.csv", "csv", cols)
    _raises(path, _source(path), "column 'b'", "not numeric", r"row 7\b", "abc")


def test_non_numeric_column_in_parquet(tmp_path):
    cols = _table()
    cols["c"] = np.array([f"v{i}" for i in range(N)], dtype=object)
    path = _write(tmp_path / "events.parquet", "parquet", cols)
    _raises(path, _source(path), "column 'c'", "not numeric", r"row 0\b")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("writer,suffix", [("csv", ".csv"), ("npz", ".npz")])
def test_non_finite_value_names_the_first_row_and_column(tmp_path, bad, writer, suffix):
    cols = _table()
    cols["c"][[11, 30]] = bad
    path = _write(tmp_path / f"events{suffix}", writer, cols)
    _raises(path, _source(path), "column 'c'", "non-finite", r"row 11\b", "2 such")


def test_empty_csv_cell_is_a_non_finite_value(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text("a,b,c\n1,2,3\n4,,6\n7,8,9\n")
    _raises(path, _source(path), "column 'b'", "non-finite", r"row 1\b")


def test_constant_column(tmp_path):
    cols = _table()
    cols["b"][:] = 0.25
    path = _write(tmp_path / "events.npz", "npz", cols)
    _raises(path, _source(path), "feature 'b'", "constant", "0.25")


def test_check_events_names_where():
    x = np.array([[1.0, 2.0], [1.0, 3.0]])
    with pytest.raises(DataError, match=r"^here: feature 'p' is constant"):
        check_events(x, ["p", "q"], "here")
    check_events(x[:1], ["p", "q"], "here")  # one row is not 'constant'
    check_events(x[:, 1:], ["q"], "here")


def test_missing_weight_column(tmp_path):
    path = _write(tmp_path / "events.parquet", "parquet", _table())
    _raises(path, _source(path, weight="weight"), r"no column\(s\) \['weight'\]")


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_weight(tmp_path, bad):
    cols = _table()
    cols["w"][5] = bad
    path = _write(tmp_path / "events.npz", "npz", cols)
    _raises(path, _source(path, weight="w"), "column 'w'", "non-finite", r"row 5\b")


@pytest.mark.parametrize(
    "weights",
    [
        np.zeros(N),
        -np.ones(N),
        np.r_[np.ones(N // 2), -np.ones(N // 2)],  # sum exactly 0
        np.r_[np.ones(N // 2), -2 * np.ones(N // 2)],  # some > 0, sum < 0
    ],
)
def test_weights_summing_to_zero_or_less(tmp_path, weights):
    cols = _table()
    cols["w"] = weights
    path = _write(tmp_path / "events.npz", "npz", cols)
    _raises(path, _source(path, weight="w"), "'w'", "no positive entry|<= 0")


def test_negative_weights_with_a_positive_sum_are_read(tmp_path):
    cols = _table()
    cols["w"][:5] = -0.5
    path = _write(tmp_path / "events.npz", "npz", cols)
    _, w = read(path, _source(path, weight="w"))
    np.testing.assert_array_equal(w, cols["w"])


def test_two_dimensional_npz_array_is_refused(tmp_path):
    path = tmp_path / "events.npz"
    np.savez(path, a=np.ones((4, 2)), b=np.arange(4.0), c=np.arange(4.0))
    _raises(path, _source(path), "column 'a'", r"shape \(4, 2\)")


def test_root_file_needs_a_key(tmp_path):
    path = _write(tmp_path / "events.root", "root", _table(), key="tree")
    _raises(path, _source(path), "ROOT", "'key'")


def test_root_file_with_a_wrong_tree_name(tmp_path):
    path = _write(tmp_path / "events.root", "root", _table(), key="tree")
    _raises(path, _source(path, key="Events"), "no TTree 'Events'", "tree")


def test_hdf5_file_with_a_wrong_key(tmp_path):
    path = _write(tmp_path / "events.h5", "hdf5-group", _table(), key="events")
    _raises(path, _source(path, key="other"), "not a readable hdf5", "other")


@pytest.mark.parametrize("fmt", ["npz", "parquet", "hdf5", "root"])
def test_file_not_of_the_declared_format(tmp_path, fmt):
    path = _write(tmp_path / "events.csv", "csv", _table())
    _raises(path, _source(path, format=fmt, key="tree"), f"not a readable {fmt}")


def test_too_few_events_for_the_sizes(tmp_path):
    path = _write(tmp_path / "events.npz", "npz", _table())
    sizes = {"train": 20, "classifier": 15, "truth": 10}
    with pytest.raises(DataError) as info:
        draw(_source(path), sizes, seed=0)
    message = str(info.value)
    assert str(path) in message
    for text in ("40 events", "45", "train 20", "classifier 15", "truth 10"):
        assert text in message, (text, message)


# --- EventSource ----------------------------------------------------------------


def test_event_source_checks():
    with pytest.raises(ValueError, match=r"\['a'\] named more than once"):
        EventSource(("a", "b", "a"), path="x.csv")
    with pytest.raises(ValueError, match="'b' is also a feature"):
        EventSource(("a", "b"), path="x.csv", weight="b")
    files = {r: f"{r}.csv" for r in ROLES}
    with pytest.raises(ValueError, match="either path"):
        EventSource(("a",), path="x.csv", files=files)
    with pytest.raises(ValueError, match="either path"):
        EventSource(("a",))
    partial = {r: f for r, f in files.items() if r != "truth_test"}
    with pytest.raises(ValueError, match="one file per role"):
        EventSource(("a",), files=partial)
    with pytest.raises(ValueError, match="at least one"):
        EventSource((), path="x.csv")
    with pytest.raises(ValueError, match="unknown 'xlsx'"):
        EventSource(("a",), path="x.csv", format="xlsx")
    assert EventSource(("a",), files=files).paths == [files[r] for r in ROLES]
    assert EventSource(("a",), path="x.csv").paths == ["x.csv"]


# --- split and draw -------------------------------------------------------------

SIZES = {"train": 30, "classifier": 25, "truth": 20, "truth_test": 15}


def _ids(n: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Events whose first column is a unique id, weights equal to the id + 1."""
    rng = np.random.default_rng(5)
    x = np.stack([np.arange(n, dtype=np.float64), rng.normal(size=n)], 1)
    return x, np.arange(n) + 1.0


def test_split_is_disjoint_exact_and_seeded():
    x, w = _ids()
    out = split((x, w), SIZES, seed=3, where="f")
    assert list(out) == list(SIZES)
    used = []
    for role, (xr, wr) in out.items():
        assert xr.shape == (SIZES[role], 2) and wr.shape == (SIZES[role],)
        np.testing.assert_array_equal(wr, xr[:, 0] + 1)  # rows kept whole
        np.testing.assert_array_equal(xr, x[xr[:, 0].astype(int)])
        used += list(xr[:, 0])
    assert len(used) == len(set(used)) == sum(SIZES.values())
    again = split((x, w), SIZES, seed=3, where="f")
    other = split((x, w), SIZES, seed=4, where="f")
    for role in SIZES:
        np.testing.assert_array_equal(again[role][0], out[role][0])
        assert not np.array_equal(other[role][0], out[role][0])


def test_split_takes_every_row_when_sizes_sum_to_n():
    x, _ = _ids(40)
    out = split((x, None), {"train": 10, "truth": 30}, seed=0, where="f")
    assert out["train"][1] is None
    ids = np.concatenate([out[r][0][:, 0] for r in out])
    np.testing.assert_array_equal(np.sort(ids), np.arange(40))


def test_split_too_few_rows_names_where_and_counts():
    x, w = _ids(50)
    with pytest.raises(DataError, match=r"^there: 50 events, fewer than the 90"):
        split((x, w), SIZES, seed=0, where="there")


def test_draw_from_one_file_is_split(tmp_path):
    x, w = _ids()
    cols = {"id": x[:, 0], "v": x[:, 1], "w": w}
    path = _write(tmp_path / "events.parquet", "parquet", cols)
    source = EventSource(("id", "v"), path=str(path), weight="w")
    out = draw(source, SIZES, seed=7)
    expected = split((x, w), SIZES, seed=7, where=str(path))
    for role in SIZES:
        np.testing.assert_array_equal(out[role][0], expected[role][0])
        np.testing.assert_array_equal(out[role][1], expected[role][1])


def test_draw_with_one_file_per_role_reads_each(tmp_path):
    files, tables = {}, {}
    for i, role in enumerate(ROLES):
        n = SIZES[role] + 5
        ids = 1000.0 * (i + 1) + np.arange(n)  # the role is in the id
        cols = {"id": ids, "v": np.random.default_rng(i).normal(size=n)}
        suffix = [".csv", ".npz", ".parquet", ".h5"][i]
        writer = "hdf5-group" if suffix == ".h5" else suffix[1:]
        files[role] = str(_write(tmp_path / f"{role}{suffix}", writer, cols))
        tables[role] = cols
    source = EventSource(("id", "v"), files=files)
    out = draw(source, SIZES, seed=1)
    for i, role in enumerate(ROLES):
        xr, wr = out[role]
        assert xr.shape == (SIZES[role], 2) and wr is None
        assert np.all((xr[:, 0] >= 1000 * (i + 1)) & (xr[:, 0] < 1000 * (i + 2)))
        assert len(np.unique(xr[:, 0])) == SIZES[role]


def test_draw_with_one_file_per_role_checks_each(tmp_path):
    files = {}
    for role in ROLES:
        files[role] = str(_write(tmp_path / f"{role}.npz", "npz", _table()))
    bad = _table()
    bad["a"][3] = np.nan
    files["truth"] = str(_write(tmp_path / "truth.npz", "npz", bad))
    with pytest.raises(DataError, match=r"truth\.npz: column 'a'.*row 3"):
        draw(EventSource(FEATURES, files=files), {r: 5 for r in ROLES}, seed=0)
    sizes = {**{r: 5 for r in ROLES}, "truth_test": 41}
    files["truth"] = files["train"]
    with pytest.raises(DataError, match=r"truth_test\.npz: 40 events.*41"):
        draw(EventSource(FEATURES, files=files), sizes, seed=0)


# --- prepare: transforms' domains and dequantisation ----------------------------

SPECS = [FeatureSpec("log"), FeatureSpec("logit", 0.0, 1.0), FeatureSpec("none")]


@pytest.mark.parametrize(
    "column,value,what",
    [
        ("a", 0.0, "log needs values > 0"),
        ("a", -2.5, "log needs values > 0"),
        ("b", 0.0, r"logit needs values strictly inside \(0.0, 1.0\)"),
        ("b", 1.0, r"logit needs values strictly inside \(0.0, 1.0\)"),
        ("b", 1.7, r"logit needs values strictly inside \(0.0, 1.0\)"),
    ],
)
def test_prepare_refuses_values_outside_the_domain(tmp_path, column, value, what):
    cols = _table()
    cols[column][[4, 9, 17]] = value
    path = _write(tmp_path / "events.csv", "csv", cols)
    with pytest.raises(DataError) as info:
        prepare(_source(path), SPECS, {"train": N}, seed=0)
    message = str(info.value)
    assert str(path) in message
    for pattern in (f"feature '{column}'", what, r"row 4\b", f"{value:g}", "3 such"):
        assert re.search(pattern, message), (pattern, message)


def test_prepare_refuses_a_non_integer_in_a_dequantise_column(tmp_path):
    cols = _table()
    cols["c"] = np.arange(N, dtype=np.float64) % 7
    cols["c"][12] = 2.5
    path = _write(tmp_path / "events.parquet", "parquet", cols)
    specs = [FeatureSpec(), FeatureSpec(), FeatureSpec("dequantise")]
    with pytest.raises(DataError) as info:
        prepare(_source(path), specs, {"train": N}, seed=0)
    message = str(info.value)
    for text in (str(path), "feature 'c'", "integer", "row 12", "2.5", "1 such"):
        assert text in message, (text, message)


def test_prepare_names_every_feature_out_of_its_domain(tmp_path):
    cols = _table()
    cols["a"][2] = -1.0
    cols["b"][3] = 2.0
    path = _write(tmp_path / "events.npz", "npz", cols)
    with pytest.raises(DataError, match=r"feature 'a'.*; feature 'b'"):
        prepare(_source(path), SPECS, {"train": N}, seed=0)


def test_prepare_names_the_file_row_of_a_value_outside_the_domain(tmp_path):
    cols = _table(100)
    cols["a"][[37, 38, 60, 61, 90]] = -1.0
    path = _write(tmp_path / "events.npz", "npz", cols)
    sizes = {"train": 40, "classifier": 30, "truth": 30}
    with pytest.raises(DataError) as info:
        prepare(_source(path), SPECS, sizes, seed=0)
    message = str(info.value)
    assert "row 37 " in message and "5 such rows" in message, message


def test_prepare_dequantises_only_the_training_samples(tmp_path):
    n = 200
    rng = np.random.default_rng(2)
    cols = {
        "id": np.arange(n, dtype=np.float64),
        "k": rng.integers(0, 6, n).astype(np.float64),
        "v": rng.normal(size=n),
    }
    path = _write(tmp_path / "events.npz", "npz", cols)
    source = EventSource(("id", "k", "v"), path=str(path))
    specs = [FeatureSpec(), FeatureSpec("dequantise"), FeatureSpec()]
    sizes = {"train": 60, "classifier": 50, "truth": 40, "truth_test": 50}
    out = prepare(source, specs, sizes, seed=4)
    raw = draw(source, sizes, seed=4)
    for role in sizes:
        x, x0 = out[role][0], raw[role][0]
        np.testing.assert_array_equal(x[:, [0, 2]], x0[:, [0, 2]])
        np.testing.assert_array_equal(np.floor(x[:, 1]), x0[:, 1])
        np.testing.assert_array_equal(x0[:, 1], cols["k"][x0[:, 0].astype(int)])
        if role in ("train", "classifier"):
            assert np.all(x[:, 1] != x0[:, 1])  # noise in (0, 1) almost surely
            assert np.all((x[:, 1] - x0[:, 1] >= 0) & (x[:, 1] - x0[:, 1] < 1))
        else:
            np.testing.assert_array_equal(x[:, 1], x0[:, 1])  # still integers
    again = prepare(source, specs, sizes, seed=4)
    np.testing.assert_array_equal(again["train"][0], out["train"][0])


def test_prepare_without_transforms_is_draw(tmp_path):
    path = _write(tmp_path / "events.csv", "csv", _table())
    source = _source(path, weight="w")
    sizes = {"train": 10, "truth": 10}
    out = prepare(source, [FeatureSpec()] * 3, sizes, seed=0)
    raw = draw(source, sizes, seed=0)
    for role in sizes:
        np.testing.assert_array_equal(out[role][0], raw[role][0])
        np.testing.assert_array_equal(out[role][1], raw[role][1])
