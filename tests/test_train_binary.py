"""``lfkit train-binary``: every registered architecture trains and scores, the
run is deterministic, and bad datasets are refused cleanly without a model file."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from binary_helpers import invoke, make_set, one_error_line, shared, train
from lfkit.config import TrainConfig
from lfkit.errors import DataError, ParameterError
from lfkit.modelfile import load_model
from lfkit.models import input_kind, model_names
from lfkit.scoring import score
from lfkit.train import stratified_split, train_binary


@pytest.fixture(scope="module")
def sh(tmp_path_factory):
    return shared(tmp_path_factory)


@pytest.mark.parametrize("arch", model_names())
def test_every_architecture_trains_one_epoch_and_scores(arch, sh, tmp_path):
    model = tmp_path / f"{arch}.pt"
    summary = train(sh.small, model, arch=arch, epochs=1)
    assert summary["epochs_run"] == 1
    doc = load_model(model)
    assert doc["arch"] == arch and doc["regime"] == "binary"
    assert doc["input"]["kind"] == input_kind(arch)
    if input_kind(arch) == "waveform":
        assert doc["input"]["shape"] == [int(44100 * 0.5)]
    out = tmp_path / "scores.jsonl"
    assert score([str(model)], [str(sh.small)], str(out)) == 0
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(recs) == 8
    s = np.array([r["score"] for r in recs])
    assert np.isfinite(s).all() and (s >= 0).all() and (s <= 1).all()
    assert {r["model"] for r in recs} == {arch}


def test_same_seed_same_weights_other_seed_other_weights(sh, tmp_path):
    a, b, c = (tmp_path / f"{k}.pt" for k in "abc")
    train(sh.small, a, epochs=2, seed=3)
    train(sh.small, b, epochs=2, seed=3)
    train(sh.small, c, epochs=2, seed=4)
    sa, sb, sc = (load_model(p)["state_dict"] for p in (a, b, c))
    assert sa.keys() == sb.keys() == sc.keys()
    assert all(np.array_equal(sa[k], sb[k]) for k in sa)
    assert not all(np.array_equal(sa[k], sc[k]) for k in sa)


def test_training_metadata_log_and_best_epoch(sh, tmp_path):
    log = tmp_path / "log.jsonl"
    cfg = TrainConfig(epochs=3, batch_size=8, patience=0)
    summary = train_binary(str(sh.data), str(tmp_path / "m.pt"), "positive", cfg, log_path=str(log))
    hist = [json.loads(x) for x in log.read_text().splitlines()]
    assert [h["epoch"] for h in hist] == [1, 2, 3]
    for h in hist:
        assert {"loss", "val_loss", "val_accuracy", "val_auc", "seconds", "best"} <= set(h)
    # the kept epoch is the one with the lowest validation loss
    assert summary["best"]["epoch"] == min(hist, key=lambda h: h["val_loss"])["epoch"]
    doc = load_model(tmp_path / "m.pt")
    assert doc["training"]["epochs_run"] == 3 and doc["training"]["n_train"] == 24
    assert doc["training"]["config"]["epochs"] == 3
    assert doc["classes"][-1] == "positive" and doc["positive"] == "positive"


def test_early_stopping_stops_after_patience(sh, tmp_path):
    # lr so small that nothing improves after the first epoch or two
    cfg = TrainConfig(epochs=15, batch_size=8, patience=1, lr=1e-12)
    summary = train_binary(str(sh.small), str(tmp_path / "m.pt"), "positive", cfg)
    assert summary["epochs_run"] < 15


def test_stratified_split_keeps_both_classes_each_side():
    y = np.array([1] * 5 + [0] * 20)
    tr, va = stratified_split(y, 0.2, 0)
    assert set(y[tr]) == {0, 1} and set(y[va]) == {0, 1}
    assert len(set(tr) & set(va)) == 0 and len(tr) + len(va) == 25


def test_imbalanced_set_trains_with_positive_weight(tmp_path, monkeypatch):
    import lfkit.train_loop
    from lfkit.io import read_labels, write_csv

    d = make_set(tmp_path / "d", n=24, seed=5)
    rows, _ = read_labels(d)
    keep = [r for r in rows if r["label"] != "positive"] + [r for r in rows if r["label"] == "positive"][:4]
    write_csv(keep, d / "labels.csv")
    seen = []
    loss_fn = lfkit.train_loop._loss_fn

    def spy(n_outputs, y_train, device):
        fn = loss_fn(n_outputs, y_train, device)
        seen.append((np.asarray(y_train).copy(), fn))
        return fn

    monkeypatch.setattr(lfkit.train_loop, "_loss_fn", spy)
    summary = train(d, tmp_path / "m.pt", epochs=1)
    assert summary["n_positive"] == 4 and summary["n_train"] == 16
    # the loss weighs each positive by negatives / positives of the training split: 10 clips to 3
    # (12 and 4, less 2 and 1 held out), whatever the number of augmented copies of each
    (y_train, fn), = seen
    n_pos, n_neg = int((y_train == 1).sum()), int((y_train == 0).sum())
    assert n_pos > 0 and n_neg * 3 == n_pos * 10, (n_pos, n_neg)
    assert fn.pos_weight.tolist() == pytest.approx([10 / 3])


# --------------------------------------------------------------------------- bad datasets


def _header_only(folder):
    folder.mkdir()
    (folder / "labels.csv").write_text("path,label\n")
    return folder


def _one_class(folder, sh):
    from lfkit.io import read_labels, write_csv

    import shutil

    shutil.copytree(sh.data, folder)
    rows, _ = read_labels(folder)
    write_csv([r for r in rows if r["label"] == "positive"], folder / "labels.csv")
    return folder


@pytest.mark.parametrize("case, extra, code, words", [
    ("empty", [], 1, "empty dataset"),
    ("one_class", [], 1, "one class only"),
    ("absent_positive", ["--positive", "whale"], 2, "positive='whale'"),
    ("bad_arch", ["--arch", "nosuchnet"], 2, "arch='nosuchnet'"),
    ("bad_epochs", ["--epochs", "0"], 2, "epochs=0"),
])
def test_bad_dataset_one_line_exit_code_no_model(case, extra, code, words, sh, tmp_path):
    if case == "empty":
        data = _header_only(tmp_path / "d")
    elif case == "one_class":
        data = _one_class(tmp_path / "d", sh)
    else:
        data = sh.data
    model = tmp_path / "m.pt"
    rc, out, err = invoke("train-binary", data, "-o", model, "--epochs", "1", "-q", *extra)
    assert rc == code, err
    assert out == b""
    assert words in one_error_line(err, "train-binary")
    assert not model.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name != "d"] == []


def test_library_errors_are_typed(sh, tmp_path):
    with pytest.raises(ParameterError, match="positive='whale'"):
        train_binary(str(sh.data), str(tmp_path / "m.pt"), "whale", TrainConfig(epochs=1))
    with pytest.raises(DataError, match="one class only"):
        train_binary(str(_one_class(tmp_path / "d", sh)), str(tmp_path / "m.pt"), "positive", TrainConfig(epochs=1))
    assert not (tmp_path / "m.pt").exists()


def test_cli_trains_writes_log_and_progress_on_stderr(sh, tmp_path):
    model, log = tmp_path / "m.pt", tmp_path / "log.jsonl"
    rc, out, err = invoke("train-binary", sh.data, "-o", model, "--epochs", "2", "--batch-size", "8", "--log", log)
    assert rc == 0, err
    assert out == b""
    assert "epoch   1" in err and "val_auc" in err
    assert len(log.read_text().splitlines()) == 2
    assert load_model(model)["training"]["config"]["batch_size"] == 8


def test_lr_search_picks_on_validation_and_records_it(tmp_path):
    """--lr-search: a rate that diverges loses, the winner trains the same weights as --lr with it, the model says so."""
    from binary_helpers import make_set
    from lfkit.config import TrainConfig
    from lfkit.modelfile import read_raw
    from lfkit.train import train_binary

    data = make_set(tmp_path / "d", n=24, duration_s=0.5, snr="-5", sr=8000)
    base = dict(arch="speccnn", epochs=2, lr_search_epochs=1, patience=0, seed=3)
    notes = []
    info = train_binary(str(data), str(tmp_path / "s.pt"), cfg=TrainConfig(lr_search=(1e-3, 5.0), **base),
                        augment=None, notice=notes.append)
    tried = {t["lr"]: t for t in info["lr_search"]}
    assert set(tried) == {1e-3, 5.0} and info["config"]["lr"] == 1e-3
    assert tried[5.0]["val_loss"] is None or tried[5.0]["val_loss"] > tried[1e-3]["val_loss"]
    assert any("learning rate 0.001 chosen" in n for n in notes)
    train_binary(str(data), str(tmp_path / "d.pt"), cfg=TrainConfig(lr=1e-3, **base), augment=None)
    a, b = read_raw(tmp_path / "s.pt")["state_dict"], read_raw(tmp_path / "d.pt")["state_dict"]
    assert sorted(a) == sorted(b) and all(np.array_equal(a[k], b[k]) for k in a)
    assert read_raw(tmp_path / "s.pt")["training"]["lr_search"][0]["lr"] == 1e-3


def test_lr_search_refuses_what_is_not_a_list_of_rates(tmp_path):
    code, _, err = invoke("train-binary", str(tmp_path), "-o", str(tmp_path / "m.pt"), "--lr-search", "1e-3,fast")
    assert code == 2 and "lr_search='1e-3,fast'" in err and not (tmp_path / "m.pt").exists()
    code, _, err = invoke("train-binary", str(tmp_path), "-o", str(tmp_path / "m.pt"), "--lr-search", "1e-3,-1")
    assert code == 2 and "lr_search=-1" in err and not (tmp_path / "m.pt").exists()
