"""Tests of laser.io: sample files, checkpoints and tables, with their errors."""

import numpy as np
import pandas as pd
import pytest
import torch

from laser.io import (
    DataError,
    load_checkpoint,
    load_joined,
    load_model,
    load_samples,
    load_table,
    save_figure,
    save_model,
    save_samples,
    save_table,
    save_text,
)
from laser.models import classifier, flows


class Payload:
    """A pickled Python object that a weights-only checkpoint must refuse."""

    def __reduce__(self):
        return (print, ("unpickled code ran",))


class Plain:
    """An ordinary user-defined class instance."""

    def __init__(self):
        self.value = 1


def _leftovers(directory):
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


def test_samples_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 2))
    z = rng.normal(size=(50, 2)).astype(np.float32)
    w = rng.uniform(0.1, 3.0, 50)
    idx = np.arange(50, dtype=np.int64)
    path = tmp_path / "sub" / "samples.npz"  # the folder is created
    save_samples(path, x=x, z=z, w=w, idx=idx)
    assert _leftovers(path.parent) == []
    out = load_samples(path, required=("x", "z", "w"))
    assert sorted(out) == ["idx", "w", "x", "z"]
    for key in ("x", "z", "w"):
        assert out[key].dtype == np.float32
    np.testing.assert_array_equal(out["x"], x.astype(np.float32))
    np.testing.assert_array_equal(out["z"], z)
    np.testing.assert_array_equal(out["w"], w.astype(np.float32))
    np.testing.assert_array_equal(out["idx"], idx)
    assert out["idx"].dtype == np.int64
    # stored as float32 on disk, not converted on load only
    with np.load(path) as f:
        assert f["x"].dtype == np.float32


def test_joined_samples_follow_each_other_with_unit_weights_where_missing(tmp_path):
    """classifier.with_train: the classifier's sample, then the training points."""
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(30, 3)), rng.normal(size=(20, 3))
    w = rng.uniform(0.5, 2.0, 20)
    save_samples(tmp_path / "a.npz", x=a)
    save_samples(tmp_path / "b.npz", x=b, w=w)
    plain = load_joined(tmp_path / "a.npz", tmp_path / "a.npz")
    assert sorted(plain) == ["x"]  # no file has weights: none made up
    np.testing.assert_array_equal(plain["x"], np.concatenate([a, a]).astype(np.float32))
    out = load_joined(tmp_path / "a.npz", tmp_path / "b.npz")
    np.testing.assert_array_equal(out["x"], np.concatenate([a, b]).astype(np.float32))
    np.testing.assert_array_equal(out["w"][:30], np.ones(30, np.float32))
    np.testing.assert_array_equal(out["w"][30:], w.astype(np.float32))
    save_samples(tmp_path / "c.npz", x=rng.normal(size=(5, 2)))
    with pytest.raises(
        DataError, match=r"c\.npz: 2 columns in 'x', but .*a\.npz has 3"
    ):
        load_joined(tmp_path / "a.npz", tmp_path / "c.npz")
    with pytest.raises(DataError, match="missing.npz: no such file"):
        load_joined(tmp_path / "a.npz", tmp_path / "missing.npz")


def test_save_samples_overwrites_atomically(tmp_path):
    path = tmp_path / "s.npz"
    save_samples(path, x=np.zeros((3, 2)))
    save_samples(path, x=np.ones((4, 2)))
    np.testing.assert_array_equal(load_samples(path)["x"], np.ones((4, 2)))
    assert [p.name for p in tmp_path.iterdir()] == ["s.npz"]


def _write_npz(path, **arrays):
    with open(path, "wb") as f:
        np.savez(f, **arrays)


GOOD = np.zeros((5, 2))


def _bad_files(tmp_path):
    """name -> (path, pattern the error must contain besides the file name)."""
    cases = {}

    def case(name, pattern, **arrays):
        p = tmp_path / f"{name}.npz"
        _write_npz(p, **arrays)
        cases[name] = (p, pattern)

    cases["missing"] = (tmp_path / "missing.npz", "no such file")
    text = tmp_path / "text.npz"
    text.write_text("x,y\n1,2\n")
    cases["text"] = (text, "not a readable .npz")
    save_samples(tmp_path / "whole.npz", x=np.ones((100, 2)))
    raw = (tmp_path / "whole.npz").read_bytes()
    for frac in (0.3, 0.9):
        p = tmp_path / f"truncated{frac}.npz"
        p.write_bytes(raw[: int(len(raw) * frac)])
        cases[f"truncated{frac}"] = (p, "not a readable .npz")
    empty_file = tmp_path / "empty_file.npz"
    empty_file.write_bytes(b"")
    cases["empty_file"] = (empty_file, "not a readable .npz")
    case("no_x", r"missing array\(s\) \['x'\]; the file holds \['z'\]", z=GOOD)
    nan = GOOD.copy()
    nan[3, 1] = np.nan
    case("nan", "'x' has non-finite values \\(first at row 3\\)", x=nan)
    inf = GOOD.copy()
    inf[2, 0] = -np.inf
    case("inf", "'x' has non-finite values \\(first at row 2\\)", x=inf)
    winf = np.ones(5)
    winf[4] = np.inf
    case("w_inf", "'w' has non-finite values \\(first at row 4\\)", x=GOOD, w=winf)
    case("one_d", r"'x' must be 2-D, got shape \(5,\)", x=np.zeros(5))
    case("w_two_d", r"'w' must be 1-D", x=GOOD, w=np.ones((5, 1)))
    case("empty", "'x' is empty", x=np.zeros((0, 2)))
    case("strings", "'x' is not numeric", x=np.array([["a", "b"], ["c", "d"]]))
    case("bools", "'x' is not numeric", x=np.ones((5, 2), dtype=bool))
    case("complex", "'x' is not numeric", x=np.ones((5, 2), dtype=complex))
    case(
        "rows",
        r"different numbers of rows \(5 and 4 in 'z'\)",
        x=GOOD,
        z=np.zeros((4, 2)),
    )
    case("w_rows", "different numbers of rows", x=GOOD, w=np.ones(6))
    objects = tmp_path / "objects.npz"
    np.savez(objects, x=np.array([{"a": 1}, None], dtype=object))
    cases["objects"] = (objects, "not a readable .npz")
    return cases


def test_load_errors_name_the_file_and_the_problem(tmp_path):
    cases = _bad_files(tmp_path)
    assert len(cases) == 18
    for name, (path, pattern) in cases.items():
        with pytest.raises(DataError, match=pattern) as err:
            load_samples(path)
        assert str(path) in str(err.value), name
        assert isinstance(err.value, ValueError)


def test_required_keys_are_checked(tmp_path):
    path = tmp_path / "s.npz"
    save_samples(path, x=GOOD)
    with pytest.raises(DataError, match=r"missing array\(s\) \['z', 'w'\]"):
        load_samples(path, required=("x", "z", "w"))
    assert load_samples(path, required=()).keys() == {"x"}


def _tiny_flow():
    torch.manual_seed(0)
    model = flows.RealNVP(
        2, flows.FlowConfig(n_blocks=2, hidden_layers=1, hidden_units=4)
    )
    with torch.no_grad():
        model.shift.copy_(torch.tensor([1.5, -2.0]))
        model.scale.copy_(torch.tensor([3.0, 0.25]))
    return model


def test_checkpoint_round_trip(tmp_path):
    model = _tiny_flow()
    path = tmp_path / "models" / "flow.pt"
    save_model(model, model.hparams, path)
    assert _leftovers(path.parent) == []
    ckpt = load_checkpoint(path)
    assert ckpt["hparams"] == model.hparams
    loaded = load_model(path, flows.build)
    assert not loaded.training
    for k, v in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v), k
    x = torch.randn(30, 2)
    with torch.no_grad():
        assert torch.equal(loaded(x)[0], model(x)[0])
    as64 = load_model(path, flows.build, dtype=torch.float64)
    assert as64.shift.dtype == torch.float64
    np.testing.assert_array_equal(as64.scale.numpy(), [3.0, 0.25])


def test_checkpoint_of_another_model_is_refused(tmp_path):
    model = _tiny_flow()
    path = tmp_path / "flow.pt"
    save_model(model, model.hparams, path)
    with pytest.raises(ValueError, match="not a classifier"):
        load_model(path, classifier.build)
    bad = {**model.hparams, "hidden_units": 5}
    save_model(model, bad, path)
    with pytest.raises(DataError, match="weights do not fit its hparams"):
        load_model(path, flows.build)


@pytest.mark.parametrize("obj", [Payload(), Plain()], ids=["reduce", "plain"])
def test_checkpoint_with_pickled_object_is_refused(tmp_path, capsys, obj):
    path = tmp_path / "evil.pt"
    torch.save({"state_dict": {}, "hparams": {}, "evil": obj}, path)
    with pytest.raises(
        DataError, match="not a plain-tensor checkpoint, refused"
    ) as err:
        load_checkpoint(path)
    assert str(path) in str(err.value)
    assert "unpickled code ran" not in capsys.readouterr().out


def test_checkpoint_errors(tmp_path):
    with pytest.raises(DataError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "absent.pt")
    torch.save({"state_dict": {}}, tmp_path / "partial.pt")
    with pytest.raises(DataError, match="lacks 'state_dict' and 'hparams'"):
        load_checkpoint(tmp_path / "partial.pt")
    torch.save([1, 2], tmp_path / "list.pt")
    with pytest.raises(DataError, match="lacks"):
        load_checkpoint(tmp_path / "list.pt")
    (tmp_path / "text.pt").write_text("hello")
    with pytest.raises(DataError, match="refused"):
        load_checkpoint(tmp_path / "text.pt")


def test_table_round_trip(tmp_path):
    df = pd.DataFrame(
        {
            "dataset": ["rings", "gaussians", "rings"],
            "method": ["hmc", "laser", "truth"],
            "emd": [0.123456789, 1.5e-7, 42.0],
            "n": [1, 2, 3],
            "paper": [0.28, np.nan, 0.05],
        }
    )
    tsv, md = tmp_path / "t" / "table.tsv", tmp_path / "t" / "table.md"
    save_table(df, tsv, str(md))
    assert _leftovers(tsv.parent) == []
    back = load_table(tsv)
    assert list(back.columns) == list(df.columns)
    pd.testing.assert_frame_equal(back, df, rtol=1e-5)  # written with 6 digits
    assert back["emd"][0] != df["emd"][0]  # rounded to 6 significant digits
    text = md.read_text()
    assert text.splitlines()[0].split("|")[1].strip() == "dataset"
    assert "gaussians" in text and "0.1235" in text


def test_figures_and_texts_are_written_whole_and_the_same_on_a_rerun(tmp_path):
    """A figure saved twice gives the same bytes (the PDF has no creation date),
    and no temporary file stays beside it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    first = tmp_path / "a.pdf", tmp_path / "a.png"
    again = tmp_path / "b.pdf", tmp_path / "b.png"
    save_figure(fig, *first)
    save_figure(fig, *again)
    plt.close(fig)
    for one, two in zip(first, again, strict=True):
        assert one.read_bytes() == two.read_bytes(), one.suffix
    assert b"CreationDate" not in first[0].read_bytes()
    save_text("<p>é</p>\n", tmp_path / "page.html")
    assert (tmp_path / "page.html").read_text(encoding="utf-8") == "<p>é</p>\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "a.pdf",
        "a.png",
        "b.pdf",
        "b.png",
        "page.html",
    ]


def test_a_float64_checkpoint_loads_in_full_precision(tmp_path):
    model = _tiny_flow().double()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1e-12)  # below float32's resolution near 1 and 0.1
    path = tmp_path / "flow64.pt"
    save_model(model, model.hparams, path)
    loaded = load_model(path, flows.build, dtype=torch.float64)
    for k, v in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v), k
    assert load_model(path, flows.build, dtype=torch.float32).shift.dtype == (
        torch.float32
    )
