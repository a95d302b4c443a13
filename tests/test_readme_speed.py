"""The README's speed block equals what benchmarks/speed_block.py renders from benchmarks/results/speed_*.json."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def _load():
    spec = importlib.util.spec_from_file_location("bench_speed_block", ROOT / "benchmarks" / "speed_block.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


S = _load()


def _copy(tmp_path: Path) -> tuple:
    """A README with the block emptied and a copy of the committed results files, in ``tmp_path``."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    before, _, after = S.split_readme(text)
    readme = tmp_path / "README.md"
    readme.write_text(before + "stale\n" + after, encoding="utf-8")
    res = tmp_path / "results"
    res.mkdir()
    for name in S.NAMES:
        shutil.copy(RESULTS / f"speed_{name}.json", res / f"speed_{name}.json")
    return readme, res, before, after


def _edit(res: Path, name: str, fn) -> None:
    p = res / f"speed_{name}.json"
    doc = json.loads(p.read_text())
    fn(doc["results"])
    p.write_text(json.dumps(doc))


def test_readme_block_equals_the_committed_results():
    _, block, _ = S.split_readme((ROOT / "README.md").read_text(encoding="utf-8"))
    docs = S.read_results(RESULTS)
    assert block == S.render(docs), "README and benchmarks/results/speed_*.json disagree: run speed_block.py"
    assert S.main(["--check"]) == 0
    # the numbers the rows quote, as the files hold them
    pipe = docs["pipe"]["results"]
    assert f"median {pipe['median_s']:.2f} s over {pipe['runs']} runs" in block
    for name, doc in docs.items():
        assert f"`{doc['command']}`" in block, name
        assert f"load {doc['load_avg_before'][0]:.1f} before, {doc['load_avg_after'][0]:.1f} after" in block, name


def test_rewrite_touches_only_the_block_and_check_sees_a_change(tmp_path, capsys):
    readme, res, before, after = _copy(tmp_path)
    assert S.main(["--check", "--readme", str(readme), "--results", str(res)]) == 1
    assert "speed block differs" in capsys.readouterr().out
    assert S.main(["--readme", str(readme), "--results", str(res)]) == 0
    text = readme.read_text(encoding="utf-8")
    assert text == before + S.render(S.read_results(res)) + after
    assert S.main(["--check", "--readme", str(readme), "--results", str(res)]) == 0
    # one number changes in one results file: --check fails and leaves the README alone, a rewrite shows it
    _edit(res, "pipe", lambda r: r.update(median_s=0.512))
    assert S.main(["--check", "--readme", str(readme), "--results", str(res)]) == 1
    assert readme.read_text(encoding="utf-8") == text
    assert S.main(["--readme", str(readme), "--results", str(res)]) == 0
    new = readme.read_text(encoding="utf-8")
    assert "median 0.51 s" in new and "median 0.51 s" not in text
    assert new.startswith(before) and new.endswith(after)
    assert not list(tmp_path.glob("*.tmp"))


def test_aim_verdicts_follow_the_numbers(tmp_path):
    _, res, _, _ = _copy(tmp_path)
    _edit(res, "pipe", lambda r: r.update(median_s=0.5))
    assert "| < 0.6 s: met |" in S.row_pipe(S.read_results(res)["pipe"])
    _edit(res, "pipe", lambda r: r.update(median_s=0.7))
    assert "| < 0.6 s: **not met** |" in S.row_pipe(S.read_results(res)["pipe"])

    def fast(r):
        for i, run in enumerate(r["runs"]):
            run["speedup_vs_librosa_1blas_loop"] = 5.0 if i == 0 else 1.5

    _edit(res, "spectro", fast)
    n = len(S.read_results(res)["spectro"]["results"]["runs"])
    row = S.row_spectro(S.read_results(res)["spectro"])
    assert ("met against its one-thread time" if n == 1 else f"met in 1 of {n} runs against its one-thread") in row

    def killed(r):
        r["kills"][0]["identical"] = False
        r["identical"] -= 1

    _edit(res, "resume", killed)
    assert "byte-identical: met |" not in S.row_resume(S.read_results(res)["resume"])


def test_a_missing_results_file_is_refused_naming_it(tmp_path):
    readme, res, _, _ = _copy(tmp_path)
    text = readme.read_text(encoding="utf-8")
    (res / "speed_scale.json").unlink()
    for check in ([], ["--check"]):
        with pytest.raises(SystemExit) as e:
            S.main([*check, "--readme", str(readme), "--results", str(res)])
        msg = str(e.value)
        assert "speed_scale.json is missing" in msg and "bench_scale.py" in msg and "\n" not in msg
    assert readme.read_text(encoding="utf-8") == text


@pytest.mark.parametrize("text", ["no markers\n", "<!-- speed:end -->\n<!-- speed:begin -->\n",
                                  "<!-- speed:begin -->\n<!-- speed:begin -->\n<!-- speed:end -->\n"])
def test_readme_without_one_pair_of_markers_is_refused_and_left_alone(tmp_path, text):
    readme = tmp_path / "README.md"
    readme.write_text(text, encoding="utf-8")
    with pytest.raises(SystemExit, match="needs one <!-- speed:begin --> line"):
        S.main(["--readme", str(readme), "--results", str(RESULTS)])
    assert readme.read_text(encoding="utf-8") == text


def test_quickstart_benchmark_runs_the_readmes_first_block_without_pip():
    """bench_quickstart.py times exactly the README's first sh block, less its pip steps; its row quotes the file."""
    spec = importlib.util.spec_from_file_location("bench_quickstart", ROOT / "benchmarks" / "bench_quickstart.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    steps = mod.quickstart_steps(readme)
    assert steps and all(s.startswith("lfkit ") for s in steps)
    assert "pip install torch==2.13.0 && pip install -e . && " + " && ".join(steps) in readme
    doc = json.loads((RESULTS / "speed_quickstart.json").read_text())
    assert doc["results"]["steps"] == steps, "the README's first command changed: rerun bench_quickstart.py"
    row = S.row_quickstart(doc)
    r = doc["results"]
    assert f"AUC {r['auc']:.4f} and accuracy {r['accuracy']:.2f} on its {r['n_test']} test clips" in row
    with pytest.raises(SystemExit, match="no ```sh block"):
        mod.quickstart_steps("# nothing to run\n")
    for name, start in mod.EXAMPLES.items():  # the one-class and siamese examples, as the README writes them
        ex = mod.example_steps(readme, start)
        assert ex == r[name]["steps"] and ex[0].startswith("lfkit synth ") and ex[1].startswith(start)
        assert f"training {r[name]['wall_s'][-1]:.0f} s wall" in row
    with pytest.raises(SystemExit, match="no `lfkit synth` line followed by"):
        mod.example_steps("lfkit train-oneclass pos -o oc.pt\n", mod.EXAMPLES["oneclass"])
