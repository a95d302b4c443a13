"""The README's paper table equals examples/paper/results/table1.json, and readme_table.py writes only its block."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAPER = ROOT / "examples" / "paper"


def _load():
    spec = importlib.util.spec_from_file_location("paper_readme_table", PAPER / "readme_table.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_readme_table1_block_equals_the_results_file():
    mod = _load()
    _, block, _ = mod.split_readme((ROOT / "README.md").read_text(encoding="utf-8"))
    doc = json.loads((PAPER / "results" / "table1.json").read_text())
    assert block == mod.render(doc), "README and results/table1.json disagree: run examples/paper/readme_table.py"
    # Every AUC of every row appears in the README as results/ has it.
    for r in doc["rows"]:
        a = r["auc"]["-10"]
        assert f"{a['mean']:.2f} [{a['lo']:.2f}, {a['hi']:.2f}]" in block
    assert mod.main(["--check"]) == 0


def _doc(mean):
    cell = {"mean": mean, "lo": mean - 0.1, "hi": min(1.0, mean + 0.1)}
    row = {"name": "Spec-CNN", "paper": {"auc": 1.0, "accuracy": 0.96}, "auc": {"-10": cell, "all": cell},
           "accuracy": {"-10": cell, "all": cell}, "n": {"-10": 120, "all": 120}}
    return {"profile": "quick", "seeds": ["1", "2", "3"], "snrs_db": [-10], "rows": [row]}


def test_rewrite_touches_only_the_block_and_check_sees_a_change(tmp_path, capsys):
    mod = _load()
    res, readme = tmp_path / "t.json", tmp_path / "README.md"
    res.write_text(json.dumps(_doc(0.9)))
    readme.write_text(f"intro 0.12\n{mod.BEGIN}\nold numbers\n{mod.END}\nafter 0.34\n")
    assert mod.main(["--results", str(res), "--readme", str(readme), "--check"]) == 1
    assert "differs" in capsys.readouterr().out
    assert mod.main(["--results", str(res), "--readme", str(readme)]) == 0
    text = readme.read_text()
    assert text.startswith(f"intro 0.12\n{mod.BEGIN}\n") and text.endswith(f"{mod.END}\nafter 0.34\n")
    assert "| Spec-CNN | 1.00 | 0.90 [0.80, 1.00] | 0.90 [0.80, 1.00] |" in text
    assert "120 test clips per SNR cell" in text
    assert mod.main(["--results", str(res), "--readme", str(readme), "--check"]) == 0
    res.write_text(json.dumps(_doc(0.8)))  # results move on: the README is now stale
    assert mod.main(["--results", str(res), "--readme", str(readme), "--check"]) == 1


@pytest.mark.parametrize("text", ["no markers\n", "<!-- table1:end -->\n<!-- table1:begin -->\n",
                                  "<!-- table1:begin -->\n<!-- table1:begin -->\n<!-- table1:end -->\n"])
def test_readme_without_one_pair_of_markers_is_refused_and_left_alone(tmp_path, text):
    mod = _load()
    res, readme = tmp_path / "t.json", tmp_path / "README.md"
    res.write_text(json.dumps(_doc(0.9)))
    readme.write_text(text)
    with pytest.raises(SystemExit, match="needs one <!-- table1:begin --> line followed by one"):
        mod.main(["--results", str(res), "--readme", str(readme)])
    assert readme.read_text() == text


# ---------------------------------------------------------------------------- examples/paper/README.md: chosen rates

def _load_rates():
    spec = importlib.util.spec_from_file_location("paper_readme_rates", PAPER / "readme_rates.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("name", ["rates1", "rates23"])
def test_paper_readme_rate_blocks_equal_the_results_files(name):
    mod = _load_rates()
    results = PAPER / "results"
    want, why = mod.render_each(results)[name]
    if why:  # results/ written before tables.py recorded the searches (Tables 2 and 3 await a rebuild)
        pytest.skip(why)
    text = (PAPER / "README.md").read_text(encoding="utf-8")
    assert mod.split_block(text, name)[1] == want, f"README block {name} and results/ disagree: make readme"


def _rec(losses, aucs, chosen):
    """One seed's record as tables.py writes it: candidates 3e-4, 1e-3, 3e-3 ranked by loss."""
    lrs = [3e-4, 1e-3, 3e-3]
    order = sorted(range(3), key=lambda i: losses[i])
    cands = [{"lr": lr, "val_loss": loss, "val_auc": auc, "rank": order.index(i)}
             for i, (lr, loss, auc) in enumerate(zip(lrs, losses, aucs))]
    assert lrs[order[0]] == chosen
    return {"chosen": chosen, "val_loss": losses[order[0]], "search_epochs": 3, "warmup_epochs": 1.0,
            "candidates": cands}


def _rate_docs():
    """Table 1: Spec-CNN's seeds disagree (seed 1: the AUC prefers 1e-3; seed 3 near ln 2), ResNet keeps 1e-3.
    Table 2: OC-SpecCNN (two detectors, one search) keeps 1e-3; Table 3: two backbones, one loss."""
    near = [0.70, 0.68, 0.69]  # every candidate within 0.02 of ln 2 = 0.693
    spec = {"s1": _rec([0.30, 0.25, 0.18], [0.90, 0.95, 0.93], 3e-3),
            "s2": _rec([0.40, 0.29, 0.31], [0.80, 0.90, 0.85], 1e-3),
            "s3": _rec(near, [0.50, 0.50, 0.50], 1e-3)}
    res = {s: _rec([0.50, 0.15 + k / 10, 0.60], [0.7, 0.9, 0.8], 1e-3) for k, s in enumerate(("s1", "s2", "s3"))}
    seeds = ["1", "2", "3"]
    t1 = {"profile": "quick", "seeds": seeds, "rows": [
        {"row": "speccnn", "name": "Spec-CNN", "lr": spec}, {"row": "resnet", "name": "ResNet", "lr": res},
        {"row": "knowntone", "name": "known-tone detector (reference)", "lr": None}]}
    oc = {s: _rec([0.9, 0.5, 0.7], [0.2, 0.3, 0.1], 1e-3) for s in ("s1", "s2", "s3")}
    t2 = {"profile": "quick", "seeds": seeds, "rows": [
        {"row": "ocspeccnn-ocsvm", "name": "OC-SpecCNN + OC-SVM", "lr": oc},
        {"row": "ocspeccnn-gmm", "name": "OC-SpecCNN + GMM", "lr": oc},
        {"row": "raw-ocsvm", "name": "raw spectrum (reference) + OC-SVM", "lr": None}]}
    t3 = {"profile": "quick", "seeds": seeds, "rows": [
        {"row": "sispeccnn-contrastive", "name": "Si-SpecCNN + contrastive",
         "lr": {"s1": _rec([0.5, 0.4, 0.3], [0.1] * 3, 3e-3), "s2": _rec([0.2, 0.4, 0.3], [0.1] * 3, 3e-4),
                "s3": _rec([0.5, 0.4, 0.3], [0.1] * 3, 3e-3)}},
        {"row": "lenet-contrastive", "name": "LeNet + contrastive",
         "lr": {s: _rec([0.5, 0.3, 0.4], [0.1] * 3, 1e-3) for s in ("s1", "s2", "s3")}}]}
    return {"table1": t1, "table2": t2, "table3": t3}


def _write_docs(folder: Path, docs: dict) -> None:
    folder.mkdir(exist_ok=True)
    for t, doc in docs.items():
        (folder / f"{t}.json").write_text(json.dumps(doc))


def test_rate_blocks_are_computed_written_in_place_and_checked(tmp_path, capsys):
    mod = _load_rates()
    res, readme = tmp_path / "results", tmp_path / "README.md"
    docs = _rate_docs()
    _write_docs(res, docs)
    head, mid, tail = "intro 0.003 (0.18)\n", "between 1e-3\n", "after 7 of 21\n"
    readme.write_text(f"{head}<!-- rates1:begin -->\nold\n<!-- rates1:end -->\n{mid}"
                      f"<!-- rates23:begin -->\nold\n<!-- rates23:end -->\n{tail}")
    args = ["--results", str(res), "--readme", str(readme)]
    assert mod.main(args + ["--check"]) == 1 and "differ" in capsys.readouterr().out
    assert mod.main(args) == 0
    text = readme.read_text()
    assert text.startswith(head + "<!-- rates1:begin -->\n") and text.endswith("<!-- rates23:end -->\n" + tail)
    assert f"<!-- rates1:end -->\n{mid}<!-- rates23:begin -->\n" in text
    one = " ".join(mod.split_block(text, "rates1")[1].split())
    assert ("| Spec-CNN | 0.003 (0.18) | 0.001 (0.29) | 0.001 (0.68) | | ResNet | 0.001 (0.15) | 0.001 (0.25) | "
            "0.001 (0.35) |") in one
    assert "known-tone" not in one
    assert ("No single rate wins for every backbone, and the three seeds of a backbone disagree for one of the two. "
            "ResNet keeps 1e-3 in every seed, so its models and its row are the same as before the search. "
            "For 1 of the 6 models (Spec-CNN's seed 3) all three candidates still sit within 0.02 of ln 2 = 0.69, "
            "a chance-level loss, after 3 epochs (the first of them the linear warm-up): there the search ranks "
            "near-equal losses, and in 1 of the 6 models the validation AUC would have picked another rate.") in one
    two = mod.split_block(text, "rates23")[1]
    assert "| Spec-CNN (OC- / Si-) | 1e-3 / 1e-3 / 1e-3 | 3e-3 / 3e-4 / 3e-3 |\n" in two
    assert "| LeNet |  | 1e-3 / 1e-3 / 1e-3 |\n" in two and "raw" not in two
    assert ("Where every seed kept 1e-3 (OC-SpecCNN's extractor, LeNet with the contrastive loss) the rows are the "
            "same as before the search.") in " ".join(two.split())
    assert mod.main(args + ["--check"]) == 0
    docs["table1"]["rows"][0]["lr"]["s2"]["val_loss"] = 0.27  # a result moves on: the README is stale
    _write_docs(res, docs)
    assert mod.main(args + ["--check"]) == 1
    assert readme.read_text() == text


def test_rate_blocks_refuse_bad_markers_and_leave_a_block_without_lr_records(tmp_path, capsys):
    mod = _load_rates()
    res, readme = tmp_path / "results", tmp_path / "README.md"
    docs = _rate_docs()
    _write_docs(res, docs)
    only_one = "<!-- rates1:begin -->\nx\n<!-- rates1:end -->\n"
    readme.write_text(only_one)
    with pytest.raises(SystemExit, match="needs one <!-- rates23:begin --> line followed by one"):
        mod.main(["--results", str(res), "--readme", str(readme)])
    assert readme.read_text() == only_one
    both = only_one + "<!-- rates23:begin -->\ny\n<!-- rates23:end -->\n"
    readme.write_text(both)
    for r in docs["table2"]["rows"]:
        del r["lr"]  # written by a tables.py before the lr records
    _write_docs(res, docs)
    args = ["--results", str(res), "--readme", str(readme)]
    assert mod.main(args) == 1  # the block it can make is written, the other left as it is
    assert "table2.json has no learning-rate records" in capsys.readouterr().err
    text = readme.read_text()
    assert mod.split_block(text, "rates1")[1] == mod.render_table1(docs["table1"])
    assert text.endswith("<!-- rates23:begin -->\ny\n<!-- rates23:end -->\n")
    assert mod.main(args + ["--check"]) == 1 and readme.read_text() == text
    with pytest.raises(SystemExit, match="table2.json has no learning-rate records"):
        mod.render(res)
