"""A file output replaces only a file lfkit wrote: the ``.NAME.lfkit`` note (lfkit.outputs.note_written)."""

from __future__ import annotations

import pytest

from binary_helpers import invoke, one_error_line, shared
from lfkit.outputs import note_path


def _user_file(path, text="my own notes, not lfkit's\n"):
    path.write_text(text)
    return path.read_bytes()


def _refused(code, err, command, path, before):
    assert code == 2, err
    assert "exists and lfkit did not write it" in one_error_line(err, command)
    assert path.read_bytes() == before  # untouched
    assert not [p for p in path.parent.iterdir() if p.name.endswith((".partial", ".tmp"))]


def test_score_refuses_a_users_file_and_replaces_its_own(tmp_path_factory, tmp_path):
    sh = shared(tmp_path_factory)
    user = tmp_path / "notes.txt"
    before = _user_file(user)
    code, _, err = invoke("score", str(sh.model), str(sh.data), "-o", str(user), "-q")
    _refused(code, err, "score", user, before)

    out = tmp_path / "s.jsonl"
    for _ in range(2):  # lfkit's own output: a rerun (a Makefile's) replaces it
        code, _, err = invoke("score", str(sh.model), str(sh.data), "-o", str(out), "-q")
        assert code == 0, err
    assert note_path(out).is_file() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    with open(out, "a") as fh:  # changed by hand since: no longer lfkit's to replace
        fh.write("# a comment\n")
    before = out.read_bytes()
    code, _, err = invoke("score", str(sh.model), str(sh.data), "-o", str(out), "-q")
    _refused(code, err, "score", out, before)


def test_outputs_of_older_lfkit_without_a_note_are_still_replaced(tmp_path_factory, tmp_path):
    sh = shared(tmp_path_factory)
    out = tmp_path / "s.jsonl"
    assert invoke("score", str(sh.model), str(sh.data), "-o", str(out), "-q")[0] == 0
    note_path(out).unlink()  # as lfkit wrote it before notes: recognised by its records
    assert invoke("score", str(sh.model), str(sh.data), "-o", str(out), "-q")[0] == 0
    model = tmp_path / "m.pt"
    model.write_bytes(sh.model.read_bytes())  # a model file, no note: an lfkit model is recognised
    code, _, err = invoke("train-binary", str(sh.data), "-o", str(model), "--arch", "logreg", "-q")
    assert code == 0, err


@pytest.mark.parametrize("command", ["train-binary", "spectro", "synth", "eval", "embed"])
def test_every_file_writer_refuses_a_users_file(tmp_path_factory, tmp_path, command):
    sh = shared(tmp_path_factory)
    clip = next(iter(sorted(sh.data.glob("*.wav"))))
    scores = tmp_path / "s.jsonl"
    assert invoke("score", str(sh.model), str(sh.data), "-o", str(scores), "-q")[0] == 0
    target = tmp_path / {"train-binary": "m.pt", "spectro": "x.npy", "synth": "x.wav", "eval": "e.json",
                         "embed": "e.npy"}[command]
    before = _user_file(target)
    args = {"train-binary": [str(sh.data), "-o", str(target), "--arch", "logreg", "-q"],
            "spectro": [str(clip), "-o", str(target)],
            "synth": ["-o", str(target), "--tones", "300"],
            "eval": [str(scores), "--labels", str(sh.data), "-o", str(target)],
            "embed": [str(sh.model), str(sh.data), "-o", str(target), "-q"]}[command]
    code, _, err = invoke(command, *args)
    _refused(code, err, command, target, before)


def test_eval_metrics_and_logs_from_before_the_notes_are_recognised(tmp_path_factory, tmp_path):
    """An older lfkit's eval JSON and training log (no note) are replaced; a user's JSON of other keys is not."""
    sh = shared(tmp_path_factory)
    scores = tmp_path / "s.jsonl"
    assert invoke("score", str(sh.model), str(sh.data), "-o", str(scores), "-q")[0] == 0
    metrics = tmp_path / "m.json"
    metrics.write_text('{\n  "n": 12,\n  "auc": 0.9,\n  "eer": 0.1\n}\n')
    code, _, err = invoke("eval", str(scores), "--labels", str(sh.data), "-o", str(metrics))
    assert code == 0, err
    log = tmp_path / "train.jsonl"
    log.write_text('{"epoch": 1, "loss": 0.7}\n')
    code, _, err = invoke("train-binary", str(sh.data), "-o", str(tmp_path / "m.pt"), "--epochs", "1",
                          "--augment", "none", "--log", str(log), "-q")
    assert code == 0, err
    mine = tmp_path / "settings.json"
    before = _user_file(mine, '{"n": 3, "colour": "blue"}\n')
    code, _, err = invoke("eval", str(scores), "--labels", str(sh.data), "-o", str(mine))
    _refused(code, err, "eval", mine, before)
