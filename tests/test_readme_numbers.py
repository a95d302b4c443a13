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
