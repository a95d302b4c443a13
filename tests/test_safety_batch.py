"""A night's work is never lost and no input gives a traceback (issue 11, batch side).

Streaming and ``--resume`` of ``score`` and ``embed``, bad files inside a
batch (error records, never invalid JSON), clips too short for the network,
``--workers`` capped, tampered model files, one error line with honest exit
codes for every command, Ctrl-C and a closed standard output.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf
import torch

from binary_helpers import invoke, one_error_line, shared
from conftest import LFKIT
from lfkit.errors import DataError, ParameterError
from lfkit.modelfile import load_model
from lfkit.resources import cap_workers
from lfkit_cli.main import app


#: The environment of the subprocesses: no tracebacks asked for.
_ENV = {k: v for k, v in os.environ.items() if k != "LFKIT_DEBUG"}


@pytest.fixture(scope="module")
def sh(tmp_path_factory):
    return shared(tmp_path_factory)


@pytest.fixture(scope="module")
def full(sh, tmp_path_factory):
    """An uninterrupted ``score`` of the shared set: the bytes a resumed run must reproduce."""
    out = tmp_path_factory.mktemp("full") / "s.jsonl"
    rc, _, err = invoke("score", sh.model, sh.data, "-o", out, "-q")
    assert rc == 0, err
    return out.read_bytes()


# ----------------------------------------------------------------------------- streaming and resume


@pytest.fixture(scope="module")
def full4(sh, tmp_path_factory):
    """:func:`full` with forward batches of 4 rows (so that 24 clips make 6 batches to resume between)."""
    import lfkit.scoring as scoring

    out = tmp_path_factory.mktemp("full4") / "s.jsonl"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(scoring, "STREAM_BLOCK", 4)
        rc, _, err = invoke("score", sh.model, sh.data, "-o", out, "-q")
    assert rc == 0, err
    return out.read_bytes()


@pytest.mark.parametrize("cut", [0, 1, 6, 9, 23])
def test_resume_after_a_kill_gives_the_same_bytes(sh, full4, tmp_path, cut, monkeypatch):
    """A partial file (``cut`` records, then half a line, as a kill mid-write leaves) finished by --resume."""
    import lfkit.scoring as scoring

    monkeypatch.setattr(scoring, "STREAM_BLOCK", 4)
    lines = full4.splitlines(keepends=True)
    out = tmp_path / "s.jsonl"
    (tmp_path / "s.jsonl.partial").write_bytes(b"".join(lines[:cut]) + lines[cut][: len(lines[cut]) // 2])
    rc, stdout, err = invoke("score", sh.model, sh.data, "-o", out, "--resume", "-q")
    assert rc == 0 and stdout == b"", err
    assert out.read_bytes() == full4
    assert not (tmp_path / "s.jsonl.partial").exists()


@pytest.mark.parametrize("cut, first", [(5, 4), (7, 4), (9, 8), (4, 0)])
def test_resume_restarts_at_a_batch_boundary(sh, full4, tmp_path, monkeypatch, cut, first):
    """The last input of the partial file is redone (it may be incomplete), and so are the inputs back to
    the start of its forward batch (4 rows here): the network then sees the batches it saw the first time."""
    import lfkit.scoring as scoring

    monkeypatch.setattr(scoring, "STREAM_BLOCK", 4)
    lines = full4.splitlines(keepends=True)
    (tmp_path / "s.jsonl.partial").write_bytes(b"".join(lines[:cut]))
    seen = []
    real = scoring.prepare_in_workers
    monkeypatch.setattr(scoring, "prepare_in_workers",
                        lambda files, *a: seen.extend(c["_file"] for c in files) or real(files, *a))
    n_bad = scoring.score([str(sh.model)], [str(sh.data)], str(tmp_path / "s.jsonl"), resume=True, workers=1)
    assert n_bad == 0 and (tmp_path / "s.jsonl").read_bytes() == full4
    assert os.path.abspath(seen[0]) == json.loads(lines[first])["path"] and len(seen) == len(lines) - first


def test_a_left_partial_file_is_refused_without_resume(sh, tmp_path):
    partial = tmp_path / "s.jsonl.partial"
    partial.write_bytes(b'{"path": "x"}\n')
    rc, stdout, err = invoke("score", sh.model, sh.data, "-o", tmp_path / "s.jsonl")
    assert rc == 2 and stdout == b""
    assert "--resume" in one_error_line(err, "score")
    assert partial.read_bytes() == b'{"path": "x"}\n' and not (tmp_path / "s.jsonl").exists()


def test_resume_needs_a_file(sh):
    rc, stdout, err = invoke("score", sh.model, sh.data, "--resume")
    assert rc == 2 and stdout == b"" and "resume" in one_error_line(err, "score")


def test_standard_output_gets_the_same_records_one_input_at_a_time(sh, full, tmp_path, monkeypatch):
    """Records reach standard output as each input is done: the sink writes (and flushes) per input."""
    from lfkit import streaming

    writes = []
    real = streaming.RecordSink.write
    monkeypatch.setattr(streaming.RecordSink, "write", lambda self, recs: writes.append(len(recs)) or real(self, recs))
    rc, stdout, err = invoke("score", sh.model, sh.data, "-q")
    assert rc == 0, err
    assert stdout == full and writes == [1] * 24


def test_embed_resume_gives_the_same_files(sh, tmp_path):
    a, b = tmp_path / "a" / "e.npy", tmp_path / "b" / "e.npy"
    assert invoke("embed", sh.model, sh.small, "-o", a)[0] == 0
    # a run killed after 3 inputs: 3 vectors and CSV rows, plus the first bytes of the 4th vector
    E, csv_lines = np.load(a), (tmp_path / "a" / "e.csv").read_bytes().splitlines(keepends=True)
    b.parent.mkdir()
    from lfkit.embedding import _MAGIC

    head = _MAGIC + int(E.shape[1]).to_bytes(8, "little")
    (tmp_path / "b" / "e.npy.partial").write_bytes(head + E[:3].astype("<f4").tobytes() + b"\x00\x01")
    (tmp_path / "b" / "e.csv.partial").write_bytes(b"".join(csv_lines[:4]) + csv_lines[4][:5])
    rc, _, err = invoke("embed", sh.model, sh.small, "-o", b, "--resume")
    assert rc == 0, err
    assert b.read_bytes() == a.read_bytes()
    assert (tmp_path / "b" / "e.csv").read_bytes() == (tmp_path / "a" / "e.csv").read_bytes()
    assert sorted(p.name for p in b.parent.iterdir()) == ["e.csv", "e.npy"]


# ----------------------------------------------------------------------------- a bad file never costs the batch


@pytest.fixture(scope="module")
def mixed(sh, tmp_path_factory):
    """Good clips with every awkward input the issue lists."""
    d = tmp_path_factory.mktemp("mixed")
    rng = np.random.default_rng(0)
    good = rng.normal(0, 0.1, 22050).astype(np.float32)
    sf.write(d / "a_good.wav", good, 44100, subtype="FLOAT")
    sf.write(d / "b_huge.wav", good * np.float32(1e30), 44100, subtype="FLOAT")  # finite, but its power overflows
    sf.write(d / "c_short.wav", good[:4410], 44100, subtype="FLOAT")  # 0.1 s: one frame
    np.save(d / "d_one_frame.npy", rng.normal(size=(93, 1)).astype(np.float32))
    np.save(d / "e_strings.npy", np.array([["a", "b"], ["c", "d"]]))
    sf.write(d / "f_good.wav", good[::-1].copy(), 44100, subtype="FLOAT")
    return d


def test_bad_files_become_error_records_and_the_rest_is_scored(sh, mixed, tmp_path):
    out = tmp_path / "s.jsonl"
    rc, stdout, err = invoke("score", sh.model, mixed, "-o", out, "-q")
    assert rc == 1 and stdout == b""
    lines = err.strip().splitlines()
    assert len(lines) == 2 and all(ln.startswith("lfkit score: error: ") for ln in lines)
    assert "b_huge.wav" in lines[0] and "e_strings.npy" in lines[1]
    def refuse(token):
        raise AssertionError(f"{token} in the records")

    recs = [json.loads(line, parse_constant=refuse) for line in out.read_text().splitlines()]  # strict JSON
    by = {os.path.basename(r["path"]): r for r in recs}
    assert list(by) == ["a_good.wav", "b_huge.wav", "c_short.wav", "d_one_frame.npy", "e_strings.npy", "f_good.wav"]
    for name in ("b_huge.wav", "e_strings.npy"):
        assert set(by[name]) == {"path", "model", "error"} and name in by[name]["error"]
    for name in ("a_good.wav", "c_short.wav", "d_one_frame.npy", "f_good.wav"):
        assert 0 <= by[name]["score"] <= 1, name


def test_a_short_clip_is_tiled_up_to_the_networks_minimum(sh):
    from lfkit.scoring import load_scorers

    (s,) = load_scorers([str(sh.model)])
    m = s.min_frames()
    assert 1 < m <= s.shape[1]
    X = np.arange(2 * 93, dtype=np.float32).reshape(1, 93, 2)
    Y = s.fit_input(X)
    assert Y.shape == (1, 93, m) and np.array_equal(Y[..., 2:4], X) and np.array_equal(Y[..., :2], X)
    assert s.fit_input(np.zeros((1, 93, m), np.float32)).shape == (1, 93, m)  # long enough: unchanged
    with pytest.raises(RuntimeError):  # one frame less than the minimum is what the network cannot take
        s.score_batch(np.zeros((1, 93, m - 1), np.float32))


def test_eval_skips_error_records_and_refuses_a_list_path(sh, tmp_path):
    recs = [{"path": str(sh.data / f"c{i:05d}.wav"), "score": float(i % 2)} for i in range(24)]
    recs.append({"path": "/x/bad.wav", "model": "m", "error": "bad.wav: not audio"})
    p = tmp_path / "s.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in recs))
    rc, stdout, err = invoke("eval", p, "--labels", sh.data)
    assert rc == 0, err
    m = json.loads(stdout)
    assert m["errors"] == 1 and m["n"] == 24
    p.write_text(json.dumps({"path": ["a", "b"], "score": 0.5}) + "\n")
    rc, stdout, err = invoke("eval", p, "--labels", sh.data)
    assert rc == 1 and stdout == b"" and "'path' is ['a', 'b']" in one_error_line(err, "eval")


def test_eval_joins_from_another_folder_and_bins(sh, full, tmp_path):
    """Records carry absolute paths: eval run elsewhere joins them; --bins groups snr_db."""
    p = tmp_path / "s.jsonl"
    p.write_bytes(full)
    proc = subprocess.run([*LFKIT, "eval", str(p), "--labels", str(sh.data), "--by", "snr_db", "--bins", "2"],
                          capture_output=True, cwd="/", timeout=120, env=_ENV)
    assert proc.returncode == 0, proc.stderr
    m = json.loads(proc.stdout)
    assert m["n"] == 24 and m["unscored"] == 0 and m["unlabelled"] == 0
    assert list(m["by"]["snr_db"]) == ["[-10, -9.5)"]  # -10 dB for every clip: the first of two bins
    rc, _, err = invoke("eval", p, "--labels", sh.data, "--by", "snr_db", "--bins", "-20,-15,-5")
    assert rc == 0 and list(json.loads(_)["by"]["snr_db"]) == ["[-15, -5]"]
    rc, _, err = invoke("eval", p, "--bins", "3")
    assert rc == 2 and "--by" in one_error_line(err, "eval")


# ----------------------------------------------------------------------------- bounded resources


def test_workers_are_capped_at_the_cores(monkeypatch):
    import lfkit.resources as resources

    monkeypatch.setattr(resources, "available_cores", lambda: 2)
    notes = []
    assert cap_workers(1000, notes.append) == 2 and "using 2" in notes[0]
    assert cap_workers(2, notes.append) == 2 and len(notes) == 1
    with pytest.raises(ParameterError, match="workers=0"):
        cap_workers(0)


def test_workers_1000_runs_with_a_notice(sh, full):
    rc, stdout, err = invoke("score", sh.model, sh.data, "--workers", "1000")
    assert rc == 0 and stdout == full
    assert "workers=1000 is more than the" in err


def _tamper(src, dst, change):
    from lfkit.modelfile import read_raw, write_raw

    doc = read_raw(src)
    change(doc)
    write_raw(doc, dst)
    return dst


def _set(key, value):
    return lambda d: d.__setitem__(key, value)


@pytest.mark.parametrize("change, words", [
    (lambda d: d["arch_kwargs"].__setitem__("embedding_dim", 30_000_000), "beyond the limit"),
    (lambda d: d["arch_kwargs"].__setitem__("embedding_dim", 60_000), "the architecture needs (60000, "),
    (lambda d: d["arch_kwargs"].__setitem__("embedding_dim", "wide"), "cannot build it"),
    (_set("threshold", float("nan")), "threshold=nan"),
    (_set("threshold", "high"), "threshold='high'"),
    (_set("regime", "quantum"), "regime 'quantum'"),
    (_set("arch_kwargs", [1, 2]), "arch_kwargs is not a dictionary"),
    (_set("input", {"kind": "spectrogram", "sr": -5}), "input sr=-5"),
    (lambda d: d["frontend"].__setitem__("n_fft", 2**40), "n_fft"),
    (lambda d: d["frontend"].__setitem__("fmin", float("nan")), "fmin=nan"),
    (lambda d: next(iter(d["state_dict"].values())).fill(float("nan")), "NaN or Inf"),
])
def test_tampered_model_fields_give_one_data_error(sh, tmp_path, change, words):
    bad = _tamper(sh.model, tmp_path / "bad.pt", change)
    out = tmp_path / "s.jsonl"
    rc, stdout, err = invoke("score", bad, sh.data, "-o", out)
    assert rc == 1 and stdout == b"" and not out.exists()
    assert words in one_error_line(err, "score")


def test_models_of_different_score_scales_are_not_averaged(sh, tmp_path):
    tones = tmp_path / "knowntone.pt"
    rc, _, err = invoke("train-binary", sh.data, "-o", tones, "--arch", "knowntone", "--tones", "120,340,777", "-q")
    assert rc == 0, err
    rc, stdout, err = invoke("score", sh.model, tones, sh.data)
    line = one_error_line(err, "score")
    assert rc == 2 and stdout == b"" and "probability" in line and "dB" in line


# ----------------------------------------------------------------------------- one error format, honest exit codes


def _commands():
    return [c.name for c in app.registered_commands]


#: A float flag of each command given NaN, with inputs that do not exist: the parameter is refused first (exit 2).
NAN_FLAG = {
    "synth": ["--duration", "nan"],
    "spectro": ["missing.wav", "--fmin", "nan"],
    "train-binary": ["missing", "-o", "m.pt", "--lr", "nan"],
    "train-oneclass": ["missing", "-o", "m.pt", "--nu", "nan"],
    "train-siamese": ["missing", "-o", "m.pt", "--margin", "nan"],
    "embed": ["missing.pt", "missing.wav", "--chunk", "nan"],
    "score": ["missing.pt", "missing.wav", "--threshold", "nan"],
    "eval": ["missing.jsonl", "--threshold", "nan"],
    "clips": ["missing.wav", "missing.txt", "-o", "out", "--clip", "nan"],
    "export": ["missing.pt", "-o", "m.onnx", "--opset", "nan"],
}


def test_every_command_has_a_nan_case():
    assert sorted(NAN_FLAG) == sorted(_commands())


@pytest.mark.parametrize("command", sorted(NAN_FLAG))
def test_nan_flag_gives_one_line_and_exit_2(command, tmp_path):
    rc, stdout, err = invoke(command, *NAN_FLAG[command])
    assert rc == 2 and stdout == b"", err
    assert "nan" in one_error_line(err, command)


@pytest.mark.parametrize("args, code, words", [
    (["score", "--no-such"], 2, "lfkit score: error: no such option: --no-such"),
    (["score"], 2, "lfkit score: error: missing argument"),
    (["synth", "--n", "many"], 2, "lfkit synth: error: invalid value for '--n'"),
    (["no-such-command"], 2, "lfkit: error: no such command"),
    (["synth", "--seed", "-1"], 2, "lfkit synth: error: seed=-1"),
    (["synth", "--snr", "4000"], 2, "lfkit synth: error: snr='4000'"),
    (["synth", "--duration", "1e300"], 2, "lfkit synth: error: duration=1e+300"),
    (["spectro", "missing.wav", "--chunk", "1", "--chunk-hop", "nan"], 2, "chunk_hop=nan"),
    (["score", "m.pt", "x.wav", "--device", "tpu"], 2, "lfkit score: error: device='tpu'"),
    (["train-binary", "missing", "-o", "m.pt", "--seed", "-1"], 2, "seed=-1"),
])
def test_usage_and_parameter_errors_are_one_line(args, code, words):
    rc, stdout, err = invoke(*args)
    assert rc == code and stdout == b"", err
    assert len(err.strip().splitlines()) == 1 and words in err, err


def test_data_problems_exit_1(sh, tmp_path):
    slow = tmp_path / "7hz.wav"
    sf.write(slow, np.zeros(70, np.float32), 7)
    rc, _, err = invoke("spectro", slow, "-o", tmp_path / "x.npy")
    assert rc == 1 and "7hz.wav: at 7 Hz" in one_error_line(err, "spectro")
    damaged = tmp_path / "d.pt"
    damaged.write_bytes(sh.model.read_bytes()[:500])
    rc, _, err = invoke("score", damaged, sh.data)
    assert rc == 1 and "d.pt" in one_error_line(err, "score")


def test_debug_after_the_subcommand(lfkit_fast):
    res = lfkit_fast("synth", "--duration", "0", "--debug")  # restores LFKIT_DEBUG afterwards
    err = res.stderr.decode()
    assert res.returncode == 2 and "Traceback" in err
    assert err.strip().endswith("lfkit synth: error: duration=0.0 must be a positive number of seconds")


def test_closed_standard_output_is_a_clean_error():
    proc = subprocess.run([*LFKIT, "synth", "--tones", "100", "--duration", "0.1"], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=60, env=_ENV,
                          preexec_fn=lambda: os.close(1))
    assert proc.returncode == 1
    assert proc.stderr.decode().strip() == "lfkit synth: error: standard output is closed; name an output file with -o"


def _sigint_default():
    """In the child: SIGINT back to its default. A test run started in the background (``cmd &`` in a script)
    inherits SIGINT ignored, and Python then installs no handler; a user's Ctrl-C reaches a foreground
    process, whose SIGINT is the default: that is the case these tests model."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_while_starting_exits_130_quietly():
    """The handler installed before the heavy imports: SIGINT then leaves with 130 and one line."""
    code = ("import os, signal, sys, time; sys.argv[0] = 'lfkit'; import lfkit_cli.main; "
            "os.kill(os.getpid(), signal.SIGINT); time.sleep(10)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60, env=_ENV,
                          preexec_fn=_sigint_default)
    assert proc.returncode == 130 and proc.stderr.decode().strip() == "lfkit: error: interrupted"


def test_importing_the_shell_elsewhere_keeps_the_sigint_handler():
    code = "import signal, lfkit_cli.main; print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60, env=_ENV,
                          preexec_fn=_sigint_default)
    assert proc.stdout.decode().strip() == "True"


def test_ctrl_c_while_reading_exits_130_quietly():
    proc = subprocess.Popen([*LFKIT, "spectro", "-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=_ENV, preexec_fn=_sigint_default)
    time.sleep(1.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and out == b""
    assert err.decode().strip().splitlines()[-1].endswith("error: interrupted") and b"Traceback" not in err


def test_load_model_refuses_a_non_dict_state(sh, tmp_path):
    bad = _tamper(sh.model, tmp_path / "bad.pt", _set("state_dict", {"w": "not a tensor"}))
    with pytest.raises(DataError, match="not a named tensor"):
        load_model(bad)


# ----------------------------------------------------------------------------- training: log, checkpoint, resume


def _train(sh, out, hooks, resume=False, log=None):
    from lfkit.checkpoint import training_files
    from lfkit.config import TrainConfig
    from lfkit.train import train_binary

    cfg = TrainConfig(epochs=3, batch_size=4, patience=0, seed=3)
    fe = {"kind": "log"}  # a fixed front end, not a selection made at training
    with training_files(str(out), log and str(log), resume, hooks) as h:
        return train_binary(str(sh.small), str(out), "positive", cfg, fe, 1, None, hooks=h)


def test_interrupted_training_resumes_to_the_same_model(sh, tmp_path):
    whole, cut = tmp_path / "whole.pt", tmp_path / "cut.pt"
    _train(sh, whole, {}, log=tmp_path / "whole.jsonl")

    def interrupt(rec):
        if rec["epoch"] == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _train(sh, cut, {"on_epoch": interrupt}, log=tmp_path / "cut.jsonl")
    assert not cut.exists() and (tmp_path / "cut.pt.ckpt").exists()
    assert [json.loads(x)["epoch"] for x in (tmp_path / "cut.jsonl.partial").read_text().splitlines()] == [1, 2]
    rc, _, err = invoke("train-binary", sh.small, "-o", cut, "--epochs", "3")
    assert rc == 2 and "--resume" in one_error_line(err, "train-binary")
    _train(sh, cut, {}, resume=True, log=tmp_path / "cut.jsonl")
    assert cut.read_bytes() == whole.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.jsonl", "cut.pt", "whole.jsonl", "whole.pt"]

    def strip(path):
        return [{k: v for k, v in json.loads(x).items() if k != "seconds"} for x in path.read_text().splitlines()]

    assert strip(tmp_path / "cut.jsonl") == strip(tmp_path / "whole.jsonl") and len(strip(tmp_path / "cut.jsonl")) == 3


def test_same_seed_same_model_bytes_and_log_apart(sh, tmp_path):
    a, b = tmp_path / "a" / "m.pt", tmp_path / "b" / "m.pt"
    for out in (a, b):
        rc, _, err = invoke("train-binary", sh.small, "-o", out, "--epochs", "1", "--batch-size", "4", "--kind", "log",
                            "--log", out.parent / "log.jsonl", "-q")
        assert rc == 0, err
    assert a.read_bytes() == b.read_bytes()
    training = load_model(a)["training"]
    assert "seconds" not in json.dumps(training) and training["data"] == sh.small.name
    assert "seconds" in json.loads((a.parent / "log.jsonl").read_text().splitlines()[0])  # timing lives in the log
    rc, _, err = invoke("train-binary", sh.small, "-o", a, "--log", a)
    assert rc == 2 and "log=" in one_error_line(err, "train-binary") and a.read_bytes() == b.read_bytes()


def test_worker_processes_die_with_a_killed_parent():
    """``kill -9`` of a scoring process: its reader processes leave within a few seconds."""
    script = (
        "import os, time\n"
        "from joblib import Parallel, delayed\n"
        "from lfkit.resources import die_with_parent\n"
        "def task(_):\n"
        "    die_with_parent()  # as every lfkit worker task does first\n"
        "    time.sleep(0.05)\n"
        "    return os.getpid()\n"
        "pids = sorted(set(Parallel(n_jobs=2)(delayed(task)(i) for i in range(8))))\n"
        "print(' '.join(map(str, pids)), flush=True)\n"
        "time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=_ENV)
    pids = [int(p) for p in proc.stdout.readline().split()]
    assert pids and proc.pid not in pids
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    def alive(pid):
        try:
            with open(f"/proc/{pid}/status") as fh:
                return not any(line.startswith("State:") and "Z" in line for line in fh)
        except FileNotFoundError:
            return False

    deadline = time.monotonic() + 10
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(alive(p) for p in pids)


def test_a_bug_is_still_one_line_and_exit_1(sh, monkeypatch):
    import lfkit.scoring as scoring

    def broken(*a, **k):
        raise RuntimeError("something\nlfkit did not expect")

    monkeypatch.setattr(scoring, "load_scorers", broken)
    rc, stdout, err = invoke("score", sh.model, sh.data)
    line = one_error_line(err, "score")
    assert rc == 1 and stdout == b"" and "internal error" in line and "RuntimeError: something lfkit did not" in line


def test_interrupted_siamese_training_resumes_to_the_same_model(tmp_path):
    from lfkit.checkpoint import training_files
    from lfkit.config import SiameseConfig, SynthConfig
    from lfkit.siamese_train import train_siamese
    from lfkit.synth import synthesize

    data = tmp_path / "multi"
    synthesize(str(data), SynthConfig(duration_s=0.2), snr="-10", seed=0, classes=4, n=3)
    cfg = SiameseConfig(epochs=2, batch_size=2, clips_per_class=2, embedding_dim=8, seed=1)

    def train(out, hooks, resume=False):
        with training_files(str(out), None, resume, hooks) as h:
            train_siamese(str(data), str(out), cfg, {"kind": "log"}, 1, None, hooks=h)

    def interrupt(rec):
        if rec["epoch"] == 2:
            raise KeyboardInterrupt

    train(tmp_path / "whole.pt", {})
    with pytest.raises(KeyboardInterrupt):
        train(tmp_path / "cut.pt", {"on_epoch": interrupt})
    assert (tmp_path / "cut.pt.ckpt").exists() and not (tmp_path / "cut.pt").exists()
    train(tmp_path / "cut.pt", {}, resume=True)
    assert (tmp_path / "cut.pt").read_bytes() == (tmp_path / "whole.pt").read_bytes()
    assert not (tmp_path / "cut.pt.ckpt").exists()


def test_a_chunk_shorter_than_the_fft_window_is_refused_once(sh):
    rc, stdout, err = invoke("score", sh.model, sh.data, "--chunk", "0.001")
    assert rc == 2 and stdout == b"" and "FFT window" in one_error_line(err, "score")


def test_relative_record_paths_resolve_against_the_scores_file(sh, full, tmp_path):
    """A records file with paths relative to its own folder joins from any working folder; a miss says why."""
    recs = [json.loads(line) for line in full.splitlines()]
    for r in recs:
        r["path"] = os.path.relpath(r["path"], tmp_path)
    p = tmp_path / "rel.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in recs))
    proc = subprocess.run([*LFKIT, "eval", str(p), "--labels", str(sh.data)], capture_output=True, cwd="/",
                          timeout=120, env=_ENV)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["n"] == 24
    p.write_text(json.dumps({"path": "elsewhere/x.wav", "score": 0.5}) + "\n")
    rc, _, err = invoke("eval", p, "--labels", sh.data)
    assert rc == 1 and "elsewhere/x.wav" in one_error_line(err, "eval")


def test_a_training_that_fails_before_its_first_epoch_leaves_nothing(tmp_path):
    rc, _, err = invoke("train-binary", tmp_path / "missing", "-o", tmp_path / "m.pt", "--log", tmp_path / "log.jsonl")
    assert rc == 1 and "missing" in one_error_line(err, "train-binary")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA device")
@pytest.mark.parametrize("command", ["score", "embed"])
def test_a_device_this_machine_lacks_is_a_parameter_error(sh, tmp_path, command):
    out = ["-o", tmp_path / "e.npy"] if command == "embed" else []
    rc, stdout, err = invoke(command, sh.model, sh.small, *out, "--device", "cuda")
    assert rc == 2 and stdout == b"" and "device='cuda'" in one_error_line(err, command)
