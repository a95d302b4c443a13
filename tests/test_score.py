"""``lfkit score``: records, thresholds, inputs of every kind, chunking, ensembles,
sample rates, parallel reading, bad files and atomic output."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from binary_helpers import invoke, jsonl, one_error_line, shared
from conftest import run_lfkit
from lfkit import features, io
from lfkit.config import FrontendConfig, SynthConfig
from lfkit.errors import DataError
from lfkit.scoring import score
from lfkit.synth import synthesize


@pytest.fixture(scope="module")
def sh(tmp_path_factory):
    return shared(tmp_path_factory)


def _score(models, inputs, tmp_path, **kw):
    out = tmp_path / "s.jsonl"
    notes, problems = [], []
    n_bad = score([str(m) for m in models], [str(i) for i in inputs], str(out), notice=notes.append,
                  report=problems.append, **kw)
    return jsonl(out.read_text()), n_bad, notes, problems


def _clip(path, duration_s=0.5, sr=44100, seed=7, tones="120,340,777", snr="-10"):
    synthesize(str(path), SynthConfig(duration_s=duration_s, sr=sr), snr=snr, seed=seed, tones=tones)
    return path


@pytest.fixture(scope="module")
def base(sh, tmp_path_factory):
    """The shared model's records over the shared set (threshold from the model)."""
    tmp = tmp_path_factory.mktemp("score_base")
    recs, n_bad, _, _ = _score([sh.model], [sh.data], tmp)
    assert n_bad == 0
    return recs


def test_record_fields_and_label_columns(base, sh):
    rows, _ = io.read_labels(sh.data)
    assert len(base) == len(rows) == 24
    for rec, row in zip(base, rows):
        assert rec["path"] == row["_file"]
        assert rec["model"] == "speccnn"
        assert 0.0 <= rec["score"] <= 1.0
        th = base[0]["threshold"]  # the model's, picked on its validation split
        assert 0 < th < 1 and rec["threshold"] == th and rec["decision"] == (rec["score"] >= th)
        assert rec["target"] == "positive"
        for col in ("label", "snr_db", "tones", "noise", "shared"):
            assert rec[col] == row[col]
        assert "start" not in rec and "n_chunks" not in rec


def test_threshold_changes_decisions(base, sh, tmp_path):
    scores = sorted(r["score"] for r in base)
    n_base = sum(r["decision"] for r in base)  # at the model's own threshold
    mid = next(s for s in scores[len(scores) // 2:] + scores if sum(v >= s for v in scores) != n_base)
    recs, _, _, _ = _score([sh.model], [sh.data], tmp_path, threshold=mid)
    assert [r["score"] for r in recs] == [r["score"] for r in base]
    assert [r["decision"] for r in recs] == [r["score"] >= mid for r in recs]
    assert sum(r["decision"] for r in recs) != n_base and all(r["threshold"] == mid for r in recs)


def test_stdin_wav_scores_like_the_file(sh, tmp_path):
    clip = _clip(tmp_path / "c.wav")
    proc = run_lfkit("score", sh.model, "-", input=clip.read_bytes())
    assert proc.returncode == 0, proc.stderr
    (rec,) = jsonl(proc.stdout)
    assert rec["path"] == "-"
    recs, _, _, _ = _score([sh.model], [clip], tmp_path)
    assert rec["score"] == pytest.approx(recs[0]["score"], abs=1e-9)


def test_npy_with_matching_settings_scores_like_the_audio(sh, tmp_path):
    clip = _clip(tmp_path / "c.wav")
    y, sr = io.read_audio(clip)
    io.write_npy(features.spectrogram(y, sr, FrontendConfig()), tmp_path / "c.npy")
    (a,), _, _, _ = _score([sh.model], [clip], tmp_path)
    (b,), _, _, _ = _score([sh.model], [tmp_path / "c.npy"], tmp_path)
    assert b["score"] == pytest.approx(a["score"], abs=1e-6)


def test_npy_with_wrong_frequency_size_is_refused(sh, tmp_path):
    clip = _clip(tmp_path / "c.wav")
    y, sr = io.read_audio(clip)
    io.write_npy(features.spectrogram(y, sr, FrontendConfig(fmax=500.0)), tmp_path / "c.npy")
    out = tmp_path / "s.jsonl"
    rc, stdout, err = invoke("score", sh.model, tmp_path / "c.npy", "-o", out)
    assert rc == 1 and stdout == b""
    lines = err.splitlines()
    assert "c.npy" in lines[0] and "frequency rows" in lines[0] and "expects" in lines[0]
    assert not out.exists()


def test_corrupt_file_among_good_ones(sh, tmp_path, bad_audio):
    d = tmp_path / "mix"
    d.mkdir()
    for i in range(3):
        _clip(d / f"good{i}.wav", seed=i)
    shutil.copy(bad_audio["truncated_header"], d / "broken.wav")
    out = tmp_path / "s.jsonl"
    rc, stdout, err = invoke("score", sh.model, d, "-o", out)
    assert rc == 1 and stdout == b""
    assert "broken.wav" in one_error_line(err, "score")
    recs = jsonl(out.read_text())
    assert [r["path"].rsplit("/", 1)[1] for r in recs] == ["broken.wav", "good0.wav", "good1.wav", "good2.wav"]
    assert "broken.wav" in recs[0]["error"] and "score" not in recs[0]  # the bad file's error record
    assert all("error" not in r and 0 <= r["score"] <= 1 for r in recs[1:])


def test_chunk_records_have_start_and_end(sh, tmp_path):
    clip = _clip(tmp_path / "long.wav", duration_s=1.0)
    recs, _, _, _ = _score([sh.model], [clip], tmp_path, chunk_s=0.25)
    assert [(r["start"], r["end"]) for r in recs] == [(0.0, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1.0)]
    assert all(0 <= r["score"] <= 1 for r in recs)
    recs, _, _, _ = _score([sh.model], [clip], tmp_path, chunk_s=0.5, chunk_hop_s=0.25)
    assert [(r["start"], r["end"]) for r in recs] == [(0.0, 0.5), (0.25, 0.75), (0.5, 1.0)]


def test_long_file_without_chunk_gives_one_record(sh, tmp_path):
    clip = _clip(tmp_path / "long.wav", duration_s=2.5)
    (rec,), _, _, _ = _score([sh.model], [clip], tmp_path)
    assert rec["n_chunks"] == 5
    assert (rec["start"], rec["end"]) == (0.0, 2.5)
    chunks, _, _, _ = _score([sh.model], [clip], tmp_path, chunk_s=0.5)
    assert rec["score"] == pytest.approx(max(c["score"] for c in chunks))
    assert rec["best_end"] - rec["best_start"] == pytest.approx(0.5)


def test_two_models_average(base, sh, tmp_path):
    b, _, _, _ = _score([sh.model_b], [sh.data], tmp_path)
    ab, _, _, _ = _score([sh.model, sh.model_b], [sh.data], tmp_path)
    assert {r["model"] for r in ab} == {"speccnn+speccnn_b"}
    for x, y, m in zip(base, b, ab):
        assert m["score"] == pytest.approx((x["score"] + y["score"]) / 2, abs=1e-12)
    assert [x["score"] for x in base] != [y["score"] for y in b]


def test_other_sample_rate_resampled_with_notice_or_refused(sh, tmp_path):
    clip = _clip(tmp_path / "c22.wav", sr=22050)
    (rec,), n_bad, notes, _ = _score([sh.model], [clip], tmp_path)
    assert n_bad == 0 and 0 <= rec["score"] <= 1
    assert any("22050" in n and "44100" in n for n in notes)
    out = tmp_path / "strict.jsonl"
    rc, stdout, err = invoke("score", sh.model, clip, "--strict", "-o", out)
    assert rc == 1 and stdout == b""
    line = err.splitlines()[0]
    assert "22050" in line and "--strict" in line
    assert not out.exists()


def test_workers_give_the_same_records(base, sh, tmp_path):
    recs, n_bad, _, _ = _score([sh.model], [sh.data], tmp_path, workers=2)
    assert n_bad == 0
    assert recs == base


def test_output_is_not_written_when_nothing_could_be_scored(sh, tmp_path, bad_audio):
    out = tmp_path / "s.jsonl"
    with pytest.raises(DataError, match="none of the 2"):
        score([str(sh.model)], [str(bad_audio["not_audio"]), str(bad_audio["empty"])], str(out))
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == []


def test_stdout_carries_data_only(sh, tmp_path):
    rc, stdout, err = invoke("score", sh.model, sh.data, "-q")
    assert rc == 0, err
    recs = jsonl(stdout)
    assert len(recs) == 24 and all(set(r) >= {"path", "score", "model"} for r in recs)


@pytest.mark.parametrize("args, code, words", [
    (["--workers", "0"], 2, "workers=0"),
    (["--chunk", "0"], 2, "chunk=0"),
])
def test_bad_parameters_exit_2(sh, args, code, words):
    rc, stdout, err = invoke("score", sh.model, sh.data, *args)
    assert rc == code and stdout == b""
    assert words in one_error_line(err, "score")


def test_first_argument_must_be_a_model(sh):
    rc, stdout, err = invoke("score", sh.data)
    assert rc == 2 and stdout == b""
    assert "model" in one_error_line(err, "score")


def test_spectrogram_folder_made_with_other_settings_is_refused(sh, tmp_path, base):
    same, other = tmp_path / "same", tmp_path / "other"
    assert invoke("spectro", sh.data, "-o", same, "-q")[0] == 0
    assert invoke("spectro", sh.data, "-o", other, "--hop-length", "512", "-q")[0] == 0
    recs, n_bad, _, _ = _score([sh.model], [same], tmp_path)
    assert n_bad == 0
    assert [r["score"] for r in recs] == pytest.approx([r["score"] for r in base], abs=1e-6)
    assert [r["label"] for r in recs] == [r["label"] for r in base]
    out = tmp_path / "other.jsonl"
    rc, stdout, err = invoke("score", sh.model, other, "-o", out)
    assert rc == 1 and stdout == b"" and not out.exists()
    assert "hop_length=512" in err and "expects hop_length=1024" in err


def test_long_files_streamed_in_the_main_process_keep_their_place(sh, tmp_path, base, monkeypatch):
    import lfkit.segments as segments

    monkeypatch.setattr(segments, "_is_long", lambda clip, plan: clip["_file"].endswith(("c00003.wav", "c00010.wav")))
    recs, n_bad, _, _ = _score([sh.model], [sh.data], tmp_path)
    assert n_bad == 0
    assert recs == base
