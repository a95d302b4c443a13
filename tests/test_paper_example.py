"""examples/paper: the Makefile parses and is -j safe; tables.py and make_pairs.py do their sums."""

from __future__ import annotations

import csv
import importlib.util
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

PAPER = Path(__file__).resolve().parents[1] / "examples" / "paper"


def _load(name):
    spec = importlib.util.spec_from_file_location(f"paper_{name}", PAPER / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _dry_run(*args) -> str:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    proc = subprocess.run(["make", "-n", "-B", "-C", str(PAPER), "LFKIT=lfkit", *args],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize("profile", [[], ["FULL=1"]])
def test_makefile_dry_run_builds_every_row_with_unique_outputs(profile):
    out = _dry_run("all", *profile)
    for cmd in ("lfkit synth", "lfkit train-binary", "lfkit train-oneclass", "lfkit train-siamese",
                "lfkit score", "lfkit eval"):
        assert cmd in out, cmd
    for table in ("table1", "table2", "table3"):
        assert re.search(rf"tables\.py .* {table} --rows", out), table
    # tables.py takes the results folder and writes its own tableN.* files in it.
    outputs = [o for line in out.splitlines() if "tables.py" not in line for o in re.findall(r"\s-o (\S+)", line)]
    dupes = {p for p in outputs if outputs.count(p) > 1}
    assert not dupes, f"written by more than one command (unsafe under make -j): {sorted(dupes)[:5]}"
    # 7 networks + 2 references, 3 seeds each; every SNR the issue asks for.
    assert len(re.findall(r"lfkit train-binary .*--seed 3 ", out)) == 9
    for arch in ("knowntone", "logreg", "speccnn", "resnet"):
        assert f"--arch {arch} " in out
    for snr in (-35, -30, -25, -20, -10):
        assert f"--snr {snr} " in out
    epochs = "--epochs 20 " if profile else "--epochs 5 "
    assert epochs in out
    # The paper's front end is pinned (train-* would otherwise choose one from the data), no augmentation.
    # The reference rows keep their own front end (the known-tone detector reads linear power).
    lines = re.findall(r"lfkit train-binary .*", out.replace("\\\n", " "))
    assert len(lines) == 27
    for line in lines:
        network = not re.search(r"--arch (knowntone|logreg) ", line)
        pinned = "--kind log --n-fft 4096 --hop-length 1024 --fmin 0 --fmax 1000" in line and "--augment none" in line
        assert pinned == network, line
        # Each network's learning rate is chosen on its validation split; the reference rows have none.
        assert ("--lr-search 3e-4,1e-3,3e-3" in line) == network, line
    flat = out.replace("\\\n", " ")
    for line in re.findall(r"lfkit train-(?:oneclass|siamese) .*", flat):
        assert ("--lr-search 3e-4,1e-3,3e-3" in line) == ("--extractor raw " not in line), line
    # Each seed scores its own test sets, made with their own synth seeds.
    assert re.search(r"lfkit score \S+/t1/speccnn/s2\.pt \S+/bintest-s2/snr-35/ ", out)
    synth_seeds = re.findall(r"lfkit synth -o \S+/bintest-s\d/snr-10 .*?--seed \$\(\((.*?)\)\)", out, re.S)
    assert len(set(synth_seeds)) == 3, synth_seeds


def _write_model(path: Path, arch, lr_search=None, lr: float = 1e-3):
    """A model file holding only what tables.py reads: the network's name and the training metadata."""
    from lfkit.config import FrontendConfig
    from lfkit.modelfile import save_model

    path.parent.mkdir(parents=True, exist_ok=True)
    config = {"lr": lr, "epochs": 5, "lr_search_epochs": 3, "warmup_epochs": 1.0}
    training = {"config": config, **({"lr_search": lr_search} if lr_search else {})}
    save_model(path, "binary" if arch else "knowntone", FrontendConfig(),
               {"kind": "spectrogram", "sr": 8000, "n_samples": 8000, "shape": [4, 4]}, arch=arch, training=training)


def _write_seed(build: Path, row: str, seed: int, clips: dict, threshold: float = 0.5, lr_search=None):
    """Score records (as `lfkit score` writes them), the matching eval JSON and the model file of one row and seed.

    ``clips``: ``{snr: (labels 0/1, scores)}``. The model has a network unless the row is ``knowntone``.
    """
    from sklearn.metrics import roc_auc_score

    d = build / "t1" / row
    d.mkdir(parents=True, exist_ok=True)
    lr = min(lr_search, key=lambda t: t["rank"])["lr"] if lr_search else 1e-3
    _write_model(d / f"s{seed}.pt", None if row == "knowntone" else row, lr_search, lr)
    recs, by, ally, alls = [], {}, [], []
    for snr, (y, s) in clips.items():
        for k, (yy, ss) in enumerate(zip(y, s)):
            recs.append({"path": f"/x/snr{snr}/c{k}.wav", "score": float(ss), "threshold": threshold,
                         "decision": bool(ss >= threshold), "target": "positive",
                         "label": "positive" if yy else "other", "snr_db": str(snr)})
        by[f"{snr}"] = {"auc": roc_auc_score(y, s), "accuracy": float(np.mean((np.asarray(s) >= threshold) == y))}
        ally += list(y)
        alls += list(s)
    (d / f"s{seed}.scores.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    (d / f"s{seed}.eval.json").write_text(json.dumps({"auc": roc_auc_score(ally, alls), "accuracy": 0.0,
                                                       "by": {"snr_db": by}}))


def test_tables_mean_interval_and_clip_counts_from_score_records(tmp_path):
    tables = _load("tables")
    build, out = tmp_path / "build", tmp_path / "results"
    y = np.array([0, 0, 0, 1, 1, 1])
    # Seed 1 at -30 dB: AUC 8/9 (one inversion); seed 2: 1.0. At -10 dB both perfect.
    search = [{"lr": 1e-3, "val_loss": 0.41, "val_auc": 0.9, "rank": 1},
              {"lr": 3e-3, "val_loss": 0.25, "val_auc": 0.8, "rank": 0}, {"lr": 5.0, "val_loss": None, "rank": 2}]
    _write_seed(build, "speccnn", 1, {-30: (y, [0.1, 0.2, 0.7, 0.6, 0.8, 0.9]), -10: (y, [0, 0.1, 0.2, 0.8, 0.9, 1])},
                lr_search=search)
    _write_seed(build, "speccnn", 2, {-30: (y, [0.1, 0.2, 0.3, 0.6, 0.8, 0.9]), -10: (y, [0, 0.1, 0.2, 0.8, 0.9, 1])})
    for seed in (1, 2):
        _write_seed(build, "knowntone", seed, {-30: (y, [0, 0, 0, 1, 1, 1]), -10: (y, [0, 0, 0, 1, 1, 1])})
    rc = tables.main(["table1", "--build", str(build), "--rows", "speccnn knowntone", "--seeds", "1 2",
                      "--snrs", "-30 -10", "-o", str(out), "--no-plot"])
    assert rc == 0
    doc = json.loads((out / "table1.json").read_text())
    row = doc["rows"][0]
    auc = row["auc"]["-30"]
    assert auc["mean"] == pytest.approx((8 / 9 + 1) / 2, abs=1e-4)
    assert auc["per_seed"] == [pytest.approx(8 / 9, abs=1e-4), 1.0]
    assert 0.5 <= auc["lo"] < auc["mean"] <= auc["hi"] == 1.0
    assert row["auc"]["-10"] == {"mean": 1.0, "lo": 1.0, "hi": 1.0, "std": 0.0, "per_seed": [1.0, 1.0]}
    # Accuracy at the stored threshold 0.5: seed 1 misplaces 0.7 (5/6), seed 2 none;
    # no threshold does better for seed 1 (0.7 sits above the positive 0.6).
    assert row["accuracy"]["-30"]["mean"] == pytest.approx((5 / 6 + 1) / 2, abs=1e-4)
    assert row["accuracy_best"]["-30"] == pytest.approx((5 / 6 + 1) / 2, abs=1e-4)
    assert row["n"] == {"all": 24, "-30": 12, "-10": 12}
    # Each seed's learning-rate search, as the model file stores it; seed 2 trained at one rate, unsearched.
    assert row["lr"]["s1"] == {"chosen": 3e-3, "val_loss": 0.25, "search_epochs": 3, "warmup_epochs": 1.0,
                               "candidates": search}
    assert row["lr"]["s2"] == {"chosen": 1e-3, "val_loss": None, "search_epochs": None, "warmup_epochs": 1.0,
                               "candidates": []}
    assert doc["rows"][1]["lr"] is None  # the known-tone detector trains no network
    md = (out / "table1.md").read_text()
    assert f"| Spec-CNN | 1.00 | 0.94 [{auc['lo']:.2f}, 1.00] | 1.00 [1.00, 1.00] |" in md
    assert "| *clips per cell (2 seeds' test sets together)* | | 12 | 12 | 24 |" in md
    assert "known-tone detector (reference) |  |" in md  # no paper number for a reference row


def test_tables_refuse_scores_that_disagree_with_eval(tmp_path):
    tables = _load("tables")
    build = tmp_path / "build"
    y = np.array([0, 0, 1, 1])
    _write_seed(build, "lenet", 1, {-10: (y, [0.1, 0.2, 0.8, 0.9])})
    ev = build / "t1" / "lenet" / "s1.eval.json"
    doc = json.loads(ev.read_text())
    doc["by"]["snr_db"]["-10"]["auc"] = 0.5  # a stale eval JSON
    ev.write_text(json.dumps(doc))
    with pytest.raises(SystemExit, match="AUC 1.000000 from the score records, 0.500000 in the eval JSON"):
        tables.main(["table1", "--build", str(build), "--rows", "lenet", "--seeds", "1", "--snrs", "-10",
                     "-o", str(tmp_path / "r"), "--no-plot"])


def test_bootstrap_interval_matches_the_analytic_auc_standard_error():
    """One seed, 300 + 300 clips from two unit normals 1 apart: AUC = Phi(1/sqrt 2) = 0.760;
    the 95% interval is about +-1.96 Hanley-McNeil standard errors wide."""
    tables = _load("tables")
    rng = np.random.default_rng(5)
    n = 300
    y = np.r_[np.zeros(n, int), np.ones(n, int)]
    s = np.r_[rng.standard_normal(n), rng.standard_normal(n) + 1.0]
    b = tables.bootstrap([(y, s, s >= 0.5)], n_boot=2000)
    a = b["auc"]["mean"]
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    se = ((a * (1 - a) + (n - 1) * (q1 - a * a) + (n - 1) * (q2 - a * a)) / (n * n)) ** 0.5
    assert a == pytest.approx(0.760, abs=0.04)
    assert (b["auc"]["hi"] - b["auc"]["lo"]) == pytest.approx(2 * 1.96 * se, rel=0.2)
    assert b["n"] == 2 * n and b["seeds"] == 1


def test_tables_siamese_reads_pairs_and_one_eval_per_snr(tmp_path):
    tables = _load("tables")
    build = tmp_path / "build"
    pairs_dir = build / "data" / "multitest-s1"
    (pairs_dir / "snr-35").mkdir(parents=True)
    pairs = [("a0", "a1", 1), ("b0", "b1", 1), ("a0", "b0", 0), ("a1", "b1", 0)]
    with open(pairs_dir / "pairs-all.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["a", "b", "same"])
        for a, b, same in pairs:
            w.writerow([f"snr-35/{a}.wav", f"snr-35/{b}.wav", same])
    scores = {("a0", "a1"): 0.9, ("b0", "b1"): 0.4, ("a0", "b0"): 0.5, ("a1", "b1"): 0.1}
    t3 = build / "t3" / "sispeccnn-contrastive"
    t3.mkdir(parents=True)
    recs = [{"a": str(pairs_dir / "snr-35" / f"{a}.wav"), "b": str(pairs_dir / "snr-35" / f"{b}.wav"),
             "score": sc, "threshold": 0.45} for (a, b), sc in scores.items()]
    (t3 / "s1.scores.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    _write_model(t3 / "s1.pt", "sispeccnn", [{"lr": 1e-3, "val_loss": 0.3, "val_auc": 0.7, "rank": 0}])
    for tag in ("all", "snr-35"):  # AUC 3/4: one different pair (0.5) outranks one same pair (0.4)
        (t3 / f"s1.{tag}.eval.json").write_text(json.dumps({"auc": 0.75, "accuracy": 0.5}))
    tables.main(["table3", "--build", str(build), "--rows", "sispeccnn-contrastive", "--seeds", "1",
                 "--snrs", "-35", "-o", str(tmp_path / "r"), "--no-plot"])
    row = json.loads((tmp_path / "r" / "table3.json").read_text())["rows"][0]
    assert row["auc"]["-35"]["mean"] == 0.75 and row["n"]["-35"] == 4
    assert row["accuracy"]["-35"]["mean"] == 0.5  # 0.9 and 0.1 right, 0.4 and 0.5 wrong at 0.45
    md = (tmp_path / "r" / "table3.md").read_text()
    assert "| Si-SpecCNN + contrastive | 0.91 | 0.75 [" in md and "pairs per cell" in md
    assert row["lr"]["s1"]["chosen"] == 1e-3 and row["lr"]["s1"]["val_loss"] == 0.3


def test_tables_refuse_a_missing_or_foreign_model_file(tmp_path):
    tables = _load("tables")
    build = tmp_path / "build"
    y = np.array([0, 0, 1, 1])
    _write_seed(build, "lenet", 1, {-10: (y, [0.1, 0.2, 0.8, 0.9])})
    args = ["table1", "--build", str(build), "--rows", "lenet", "--seeds", "1", "--snrs", "-10",
            "-o", str(tmp_path / "r"), "--no-plot"]
    model = build / "t1" / "lenet" / "s1.pt"
    model.write_bytes(b"not a model")
    with pytest.raises(SystemExit, match="s1.pt: not a readable lfkit model"):
        tables.main(args)
    model.unlink()
    with pytest.raises(SystemExit, match=r"no model file .*s1\.pt \(run make"):
        tables.main(args)
    assert not (tmp_path / "r" / "table1.json").exists()


def test_read_lr_of_a_trained_model_equals_its_stored_search(tmp_path):
    """A real search (train_binary, two candidates, one epoch each): read_lr gives what the model stores."""
    from binary_helpers import make_set
    from lfkit.config import TrainConfig
    from lfkit.modelfile import read_raw
    from lfkit.train import train_binary

    tables = _load("tables")
    data = make_set(tmp_path / "d", n=16, duration_s=0.5, snr="-5", sr=8000)
    cfg = TrainConfig(arch="lenet", epochs=2, lr_search=(3e-3, 5.0), lr_search_epochs=1, patience=0, seed=3)
    train_binary(str(data), str(tmp_path / "m.pt"), cfg=cfg, augment=None)
    stored = read_raw(tmp_path / "m.pt")["training"]
    rec = tables.read_lr(tmp_path / "m.pt")
    assert rec["candidates"] == stored["lr_search"] and [c["lr"] for c in rec["candidates"]] == [3e-3, 5.0]
    win = next(c for c in stored["lr_search"] if c["rank"] == 0)
    assert rec["chosen"] == win["lr"] == stored["config"]["lr"] and rec["val_loss"] == win["val_loss"] is not None
    assert rec["search_epochs"] == 1 and rec["warmup_epochs"] == cfg.warmup_epochs


def test_make_pairs_is_balanced_and_within_one_dataset(tmp_path):
    make_pairs = _load("make_pairs")
    d = tmp_path / "snr-30"
    d.mkdir()
    with open(d / "labels.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "label"])
        for lab in ("a", "b", "c"):
            for i in range(3):
                w.writerow([f"{lab}{i}.wav", lab])
    out = tmp_path / "pairs.csv"
    assert make_pairs.main([str(d), "-o", str(out)]) == 0
    rows = list(csv.DictReader(open(out)))
    assert len(rows) == 18 and sum(r["same"] == "1" for r in rows) == 9
    label = {f"snr-30/{lab}{i}.wav": lab for lab in "abc" for i in range(3)}
    for r in rows:
        assert r["a"] != r["b"]
        assert (label[r["a"]] == label[r["b"]]) == (r["same"] == "1")
    make_pairs.main([str(d), "-o", str(tmp_path / "again.csv")])
    assert (tmp_path / "again.csv").read_text() == out.read_text()


def test_changing_a_training_flag_retrains_that_table_only(tmp_path):
    """make compares times, not flags: each table's flags live in B/tN.flags and its models depend on it. The same
    flags leave a built model alone (and `make -n` says so); another --lr-search retrains Table 1's model, not a
    Table 2 one; `make stamps` dates the stamps 1970 for a build made before them."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    b = tmp_path / "b"
    for data, model in (("bintrain-s1", "t1/speccnn/s1.pt"), ("postrain-s1", "t2/lenet-ocsvm/s1.pt")):
        (b / "data" / data).mkdir(parents=True)
        (b / "data" / data / "labels.csv").write_text("path,label\n")
        (b / model).parent.mkdir(parents=True)

    def make(*args):
        proc = subprocess.run(["make", "-C", str(PAPER), f"B={b}", "LFKIT=lfkit", *args], capture_output=True,
                              text=True)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    make("stamps")
    assert "--lr-search 3e-4,1e-3,3e-3" in (b / "t1.flags").read_text()
    assert (b / "t1.flags").stat().st_mtime < 86400
    for model in ("t1/speccnn/s1.pt", "t2/lenet-ocsvm/s1.pt"):
        (b / model).write_bytes(b"model")  # newer than its data and its stamp: up to date
    targets = [str(b / "t1/speccnn/s1.pt"), str(b / "t2/lenet-ocsvm/s1.pt")]
    assert "lfkit train-" not in make("-n", *targets)
    out = make("-n", "LRS=--lr-search 1e-3", *targets)
    assert "lfkit train-binary" in out and "--lr-search 1e-3 " in out.replace("\\\n", " ")
    assert "lfkit train-oneclass" not in make("-n", "EPOCHS1=7", str(b / "t2/lenet-ocsvm/s1.pt"))
    assert "lfkit train-oneclass" in make("-n", "EPOCHS2=7", str(b / "t2/lenet-ocsvm/s1.pt"))
    assert "--lr-search 3e-4,1e-3,3e-3" in (b / "t1.flags").read_text()  # a dry run writes no stamp
