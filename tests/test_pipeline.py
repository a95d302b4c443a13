"""The README's main job end to end, through the real console script:
``synth -> train-binary -> score -> eval`` on a tiny set."""

from __future__ import annotations

import json

from conftest import run_lfkit


def test_synth_train_score_eval(tmp_path):
    def ok(*args, input=None):
        proc = run_lfkit(*args, input=input, cwd=tmp_path)
        assert proc.returncode == 0, (args, proc.stderr.decode())
        return proc

    ok("synth", "-o", "train", "--positive", "120,340,777", "--n", "24", "--duration", "0.5", "--snr", "-10", "--seed", "0")
    ok("synth", "-o", "test", "--positive", "120,340,777", "--n", "16", "--duration", "0.5", "--snr", "-10", "--seed", "1")
    proc = ok("train-binary", "train", "-o", "model.pt", "--epochs", "3", "--batch-size", "8", "--seed", "0")
    assert proc.stdout == b"" and b"epoch" in proc.stderr
    proc = ok("score", "model.pt", "test", "-q")
    records = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert len(records) == 16 and all(0 <= r["score"] <= 1 for r in records)
    assert proc.stderr == b""
    proc = ok("eval", "-", "--labels", "test/labels.csv", "--by", "snr_db", input=proc.stdout)
    m = json.loads(proc.stdout)
    assert m["n"] == 16 and m["unscored"] == 0 and m["unlabelled"] == 0
    assert m["auc"] >= 0.9  # -10 dB tones are easy: even 3 epochs separate them
    assert set(m["by"]["snr_db"]) == {"-10"}
