"""score and embed never write over a model, an input or a dataset's own files (issue 11)."""

from __future__ import annotations

import hashlib
import shutil

import pytest

from conftest import assert_clean_failure, invoke_lfkit


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def setup(small_set, tmp_path_factory):
    root = tmp_path_factory.mktemp("guard")
    data = root / "data"
    shutil.copytree(small_set, data)
    model = root / "m.pt"
    proc = invoke_lfkit("train-binary", data, "-o", model, "--arch", "logreg", "-q")
    assert proc.returncode == 0, proc.stderr.decode()
    return root, data, model


@pytest.mark.parametrize("command, output", [
    ("score", "data/{clip}"),          # an input clip, inside the input folder
    ("score", "m.pt"),                 # the model
    ("score", "data/labels.csv"),      # the dataset's own labels
    ("embed", "data/labels.npy"),      # its CSV would be data/labels.csv
    ("embed", "m.pt"),                 # the model (and m.pt's CSV)
])
def test_output_on_an_input_is_refused_and_nothing_changes(setup, command, output):
    root, data, model = setup
    clip = sorted(p.name for p in data.glob("*.wav"))[0]
    out = root / output.format(clip=clip)
    before, model_bytes = _digest(data), model.read_bytes()
    proc = invoke_lfkit(command, model, data, "-o", out)
    line = assert_clean_failure(proc, command, codes=(2,))
    assert "choose an output path outside the inputs" in line, line
    assert _digest(data) == before
    assert model.read_bytes() == model_bytes
    assert not list(root.rglob("*.partial"))


def test_single_clip_scored_onto_itself_is_refused(setup):
    root, data, model = setup
    clip = sorted(data.glob("*.wav"))[0]
    before = clip.read_bytes()
    proc = invoke_lfkit("score", model, clip, "-o", clip)
    assert_clean_failure(proc, "score", codes=(2,))
    assert clip.read_bytes() == before


def test_outputs_beside_the_inputs_are_written(setup):
    root, data, model = setup
    assert invoke_lfkit("score", model, data, "-o", root / "scores.jsonl", "-q").returncode == 0
    assert invoke_lfkit("embed", model, data, "-o", root / "emb.npy").returncode == 0
    assert (root / "scores.jsonl").stat().st_size > 0 and (root / "emb.csv").exists()
