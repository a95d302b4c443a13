"""The README's benchmark blocks equal what benchmarks/readme_block.py renders from the per-seed results files."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load():
    spec = importlib.util.spec_from_file_location("bench_readme_block", ROOT / "benchmarks" / "readme_block.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _scores(y, rng, shift):
    return [round(float(v), 6) for v in rng.normal(0, 1, len(y)) + shift * np.asarray(y)]


def _real_doc(seed: int, shift: float) -> dict:
    """A tiny real-recordings results file: 6 clips (3 targets) per SNR, one lfkit row and two baselines."""
    rng = np.random.default_rng(seed)
    snr = [v for v in (0, -10, -20, -30) for _ in range(6)]
    y = [1, 0] * 12
    rows = []
    for design in ("main", "hum"):
        for regime, lf, bases in (("binary", "train-binary (defaults)", ("ridge, mean x", "logistic, mean x")),
                                  ("oneclass", "train-oneclass (defaults)", ("PCA novelty, mean x",))):
            rows.append({"design": design, "regime": regime, "method": lf, "scores": _scores(y, rng, shift)})
            rows += [{"design": design, "regime": regime, "method": b, "scores": _scores(y, rng, 1.0)} for b in bases]
    ok = {str(v): [int(rng.random() < 0.6) for _ in range(4)] for v in (0, -10, -20, -30)}
    rows += [{"design": "siamese", "regime": "siamese", "method": "train-siamese (defaults)", "correct": ok},
             {"design": "siamese", "regime": "siamese", "method": "nearest centroid, whitened mean spectrum",
              "correct": ok}]
    clips = {d: {"label": y, "snr_db": snr} for d in ("main", "hum")}
    clips["siamese"] = {str(v): {"label": ["a", "b", "c", "d"]} for v in (0, -10, -20, -30)}
    return {"partial": False, "seed": seed, "results": rows, "clips": clips}


def _robust_doc(seed: int, shift: float) -> dict:
    rng = np.random.default_rng(100 + seed)
    snr = [v for v in (-35, -30, -25, -20) for _ in range(6)]
    y = [1, 0] * 12
    rows = [{"regime": "binary", "method": m, "scores": _scores(y, rng, shift)}
            for m in ("train-binary (defaults)", "train-binary --arch knowntone --tones 120,340,777")]
    rows.append({"regime": "oneclass", "method": "train-oneclass (defaults)", "scores": _scores(y, rng, shift)})
    ok = {v: [1, 1, 1, int(shift > 0)] for v in ("-35", "-32")}  # top-1 1.00 or 0.75 at -32 dB
    rows += [{"regime": "siamese", "method": "train-siamese (defaults)", "correct": ok},
             {"regime": "siamese", "method": "nearest centroid, whitened mean spectrum 0-1 kHz", "correct": ok}]
    clips = {"test": {"label": y, "snr_db": snr}, **{f"siamese_{v}": {"label": list("abcd")} for v in ok}}
    return {"partial": False, "results": rows, "clips": clips}


def _fake(tmp_path: Path, shift: float = 2.0, seeds=(0, 1)) -> tuple:
    real, robust = tmp_path / "real", tmp_path / "robust"
    real.mkdir(exist_ok=True)
    robust.mkdir(exist_ok=True)
    for s in seeds:
        (real / f"t_seed{s}.json").write_text(json.dumps(_real_doc(s, shift)))
        (robust / f"robust_t_seed{s}.json").write_text(json.dumps(_robust_doc(s, shift)))
        (robust / f"robust_o_seed{s}.json").write_text(json.dumps({**_robust_doc(s + 7, shift), "generator": "lfkit"}))
    return ["--tag", "t", "--own-tag", "o", "--real-results", str(real), "--robust-results", str(robust)]


def test_readme_blocks_equal_the_committed_results_files():
    mod = _load()
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    want = mod.render_all(mod.TAG, ROOT / "benchmarks" / "real" / "results", ROOT / "benchmarks" / "results")
    for which in mod.MARKERS:
        assert mod.split_readme(text, which)[1] == want[which], \
            f"README's {which} block and the results files disagree: run python benchmarks/readme_block.py"


def test_rewrite_touches_only_the_blocks_and_check_sees_a_change(tmp_path, capsys):
    mod = _load()
    args = _fake(tmp_path)
    readme = tmp_path / "README.md"
    (rb, re_), (ob, oe), (wb, we) = mod.MARKERS["real"], mod.MARKERS["robust"], mod.MARKERS["own"]
    original = (f"intro 0.12\n{rb}\nold 0.99\n{re_}\nmiddle 0.56\n{ob}\nold\n{oe}\nafter 0.34\n"
                f"{wb}\nold 0.77\n{we}\nend 0.01\n")
    readme.write_text(original)
    args += ["--readme", str(readme)]
    assert mod.main([*args, "--check"]) == 1
    assert "differ" in capsys.readouterr().out
    assert readme.read_text() == original  # --check writes nothing
    assert mod.main(args) == 0
    text = readme.read_text()
    assert text.startswith(f"intro 0.12\n{rb}\n") and text.endswith(f"{we}\nend 0.01\n")
    assert f"{re_}\nmiddle 0.56\n{ob}\n" in text and f"{oe}\nafter 0.34\n{wb}\n" in text
    assert "old 0.99" not in text and "old 0.77" not in text
    assert "--generator lfkit --tag o --seed S` for S in 0 1" in text
    assert "2 seeds (0, 1)" in text and "Test clips per SNR cell: 6 per seed, 12 in all" in text
    assert "best simple baseline at each snr" in text.lower()
    assert "top-1 of at least 0.90 at -32 dB: met (1.000)" in text
    assert mod.main([*args, "--check"]) == 0
    _fake(tmp_path, shift=0.0)  # results move on: the README is now stale
    assert mod.main([*args, "--check"]) == 1
    assert mod.main(args) == 0
    assert "top-1 of at least 0.90 at -32 dB: not met (0.750)" in readme.read_text()


def test_own_block_states_its_aims_from_the_seed_means(tmp_path):
    mod = _load()
    from sklearn.metrics import roc_auc_score

    docs = [(s, tmp_path / f"robust_o_seed{s}.json", {**_robust_doc(s, 1.0), "generator": "lfkit"}) for s in (0, 1)]
    block = mod.render_own(docs, "o")
    aucs = []
    for _, _, d in docs:
        y, snr = np.array(d["clips"]["test"]["label"]), np.array(d["clips"]["test"]["snr_db"])
        s = np.array(d["results"][0]["scores"])
        aucs.append(roc_auc_score(y[snr == -30], s[snr == -30]))
    mean = float(np.mean(aucs))
    assert f"at least 0.95 at -30 dB: {'met' if mean >= 0.95 else 'not met'} ({mean:.3f})" in block
    assert "**Siamese**" in block and "2 seeds (0, 1)" in block
    with pytest.raises(SystemExit, match="not a --generator lfkit run"):
        mod.render_own([(0, tmp_path / "x.json", _robust_doc(0, 1.0))], "o")


def test_cells_are_the_mean_over_seeds_of_the_per_seed_auc(tmp_path):
    mod = _load()
    from sklearn.metrics import roc_auc_score

    docs = [_real_doc(s, 1.0) for s in (0, 1, 2)]
    per_seed = []
    for d in docs:
        y, snr = np.array(d["clips"]["main"]["label"]), np.array(d["clips"]["main"]["snr_db"])
        S = [r["scores"] for r in d["results"] if (r["design"], r["regime"]) == ("main", "binary")]
        per_seed.append((y, S, snr))
    st = mod._stats(per_seed, mod.REAL_SNRS)
    m = per_seed[0][2] == -10
    aucs = [[roc_auc_score(y[m], np.asarray(s)[m]) for s in S] for y, S, _ in per_seed]
    assert st["lfkit"]["-10"]["mean"] == pytest.approx(np.mean([a[0] for a in aucs]), abs=1e-4)
    assert st["best"]["-10"]["mean"] == pytest.approx(np.mean([max(a[1:]) for a in aucs]), abs=1e-4)
    assert st["diff"]["-10"]["mean"] == pytest.approx(np.mean([a[0] - max(a[1:]) for a in aucs]), abs=1e-4)
    # the single baseline: the one with the highest mean AUC over the four SNRs, per seed
    per_snr = [[[roc_auc_score(y[snr == int(v)], np.asarray(s)[snr == int(v)]) for v in mod.REAL_SNRS] for s in S]
               for y, S, snr in per_seed]
    single = [a[0][1] - a[1 + int(np.argmax([np.mean(b) for b in a[1:]]))][1] for a in per_snr]  # -10 dB is index 1
    assert st["single"]["-10"]["mean"] == pytest.approx(np.mean(single), abs=1e-4)
    for key in ("lfkit", "best"):
        c = st[key]["-10"]
        assert 0 <= c["lo"] <= c["hi"] <= 1


def test_a_partial_results_file_is_refused(tmp_path):
    mod = _load()
    args = _fake(tmp_path)
    doc = json.loads((tmp_path / "real" / "t_seed1.json").read_text())
    (tmp_path / "real" / "t_seed1.json").write_text(json.dumps({**doc, "partial": True}))
    readme = tmp_path / "README.md"
    text = "".join(f"{b}\n{e}\n" for b, e in mod.MARKERS.values())
    readme.write_text(text)
    with pytest.raises(SystemExit, match="t_seed1.json is partial"):
        mod.main([*args, "--readme", str(readme)])
    assert readme.read_text() == text


@pytest.mark.parametrize("text", ["no markers\n", "<!-- real:end -->\n<!-- real:begin -->\n"])
def test_readme_without_its_markers_is_refused_and_left_alone(tmp_path, text):
    mod = _load()
    args = _fake(tmp_path)
    readme = tmp_path / "README.md"
    readme.write_text(text)
    with pytest.raises(SystemExit, match="needs one <!-- real:begin --> line followed by one"):
        mod.main([*args, "--readme", str(readme)])
    assert readme.read_text() == text


def _load_path(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_rerunning_one_regime_keeps_the_other_rows_of_the_same_sets_only(tmp_path):
    run = _load_path("bench_real_run", ROOT / "benchmarks" / "real" / "run.py")
    rows = [{"design": d, "regime": r, "method": m} for d in ("main", "hum")
            for r, m in (("binary", "train-binary (defaults)"), ("binary", "ridge, mean x"),
                         ("oneclass", "train-oneclass (defaults)"))]
    path = tmp_path / "t_seed1.json"
    path.write_text(json.dumps({"manifest": {"seed": 1}, "clips": {}, "results": rows, "runs": [{"command": "a"}]}))
    planned = {("main", "binary"), ("hum", "binary")}
    keep, runs = run.prior_results(path, {"seed": 1}, planned, False, lambda m: None)
    assert [(r["design"], r["regime"]) for r in keep] == [("main", "oneclass"), ("hum", "oneclass")]
    assert runs == [{"command": "a"}]
    keep, _ = run.prior_results(path, {"seed": 1}, planned, True, lambda m: None)  # --baselines-only
    assert [r["method"] for r in keep] == ["train-binary (defaults)", "train-oneclass (defaults)"] * 2
    said = []
    assert run.prior_results(path, {"seed": 2}, planned, False, said.append) == ([], [])  # other sets: replaced
    assert "other sets" in said[0]


def test_results_json_keeps_per_clip_lists_on_one_line_and_round_trips(tmp_path):
    R = _load_path("bench_resultsfile", ROOT / "benchmarks" / "resultsfile.py")
    doc = {"scores": [0.5, -1.25, 3], "labels": ["a, b", "[c]"], "nested": [[1, 2], {"x": []}], "s": "[ 1 ]"}
    text = R.dumps(doc)
    assert json.loads(text) == doc
    assert '"scores": [0.5,-1.25,3]' in text and '"labels": ["a, b","[c]"]' in text
    R.write_text(tmp_path / "r.json", text)
    assert (tmp_path / "r.json").read_text() == text and not list(tmp_path.glob("*.tmp"))
