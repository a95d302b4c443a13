"""The shell contract every lfkit command keeps, run through the real console script.

Exit codes (0 ok, 1 data/run time, 2 usage), one-line errors on standard
error, data only on standard output, nothing half-written, and the README's
``synth | spectro`` pipe.
"""

from __future__ import annotations

import ast
import csv
import inspect
import io
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import typer
from conftest import LFKIT, assert_clean_failure, leftovers

from lfkit_cli.main import app

ROOT = Path(__file__).resolve().parents[1]


def _command_names() -> list[str]:
    return [c.name or c.callback.__name__.replace("_", "-") for c in app.registered_commands]


COMMANDS = _command_names()


def _numeric_flag(name: str) -> str | None:
    """The longest flag of the first int or float option of command ``name``."""
    command = next(c for c in app.registered_commands if (c.name or c.callback.__name__) == name)
    for p in inspect.signature(command.callback).parameters.values():
        decls = getattr(p.default, "param_decls", None) or ()
        ann = p.annotation if isinstance(p.annotation, str) else repr(p.annotation)
        if isinstance(p.default, typer.models.OptionInfo) and decls and re.search(r"\b(int|float)\b", ann):
            return max(decls, key=len)
    return None


def npy(data: bytes) -> np.ndarray:
    return np.load(io.BytesIO(data), allow_pickle=False)


def rows_of(folder) -> list[dict]:
    with open(Path(folder) / "labels.csv", newline="") as fh:
        return list(csv.DictReader(fh))


# ----------------------------------------------------------------------------- every subcommand


def test_the_foundation_commands_are_registered():
    assert {"synth", "spectro"} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_help_exits_0(lfkit, command):
    proc = lfkit(command, "--help")
    assert proc.returncode == 0, proc.stderr
    assert f"lfkit {command}" in proc.stdout.decode() and proc.stderr == b""


@pytest.mark.parametrize("command", COMMANDS)
def test_bad_parameter_exits_2_naming_it(lfkit_fast, command):
    """A numeric option given a word, and an unknown option: exit 2, the message names the option."""
    flag = _numeric_flag(command)
    assert flag, f"{command} has no numeric option to misuse"
    proc = lfkit_fast(command, flag, "not-a-number")
    assert proc.returncode == 2, proc.stderr
    assert flag in proc.stderr.decode() and proc.stdout == b""
    proc = lfkit_fast(command, "--no-such-option")
    assert proc.returncode == 2 and "--no-such-option" in proc.stderr.decode() and proc.stdout == b""


#: The options whose values are names from a registry or a fixed list, per command: shown as [a|b|...].
CHOICE_OPTIONS = {
    "synth": ("--noise",),
    "spectro": ("--kind", "--norm"),
    "train-binary": ("--arch", "--kind", "--norm"),
    "train-oneclass": ("--extractor", "--detector", "--reduce", "--kind"),
    "train-siamese": ("--arch", "--loss", "--mining", "--augment", "--kind"),
}


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_is_plain_with_an_example_and_choices(lfkit_fast, command):
    """Every --help: no backslash (typer's ``\\[default: ...]``), an example, names shown as choices,
    and the one text of -q/--quiet and --workers (cli/options.py)."""
    from lfkit_cli.options import QUIET_HELP, WORKERS_HELP

    proc = lfkit_fast(*([command] if command else []), "--help")
    out = proc.stdout.decode()
    assert proc.returncode == 0 and out.startswith("Usage: lfkit"), proc.stderr
    assert "\\" not in out, [line for line in out.splitlines() if "\\" in line]
    assert re.search(r"^  Examples?:\n    lfkit ", out, re.M), out[-400:]
    flat = " ".join(out.split())
    for flag in CHOICE_OPTIONS.get(command, ()):
        assert re.search(rf"{flag} \[[a-z0-9]+(\|[a-z0-9]+)+\] ", flat), (flag, flat)
    if "--quiet" in out:
        assert f"-q, --quiet {QUIET_HELP}" in flat
    if "--workers" in out:
        assert f"--workers INTEGER {WORKERS_HELP}" in flat


def test_root_help_and_version(lfkit):
    proc = lfkit("--help")
    assert proc.returncode == 0
    out = proc.stdout.decode()
    assert all(c in out for c in COMMANDS)
    proc = lfkit("--version")
    assert proc.returncode == 0 and proc.stdout.decode().startswith("lfkit ")


def test_help_synth_and_spectro_do_not_import_torch_or_sklearn(tmp_path):
    script = textwrap.dedent(f"""
        import sys
        from lfkit_cli.main import app
        def run(*args):
            try:
                app(list(args), prog_name="lfkit")
            except SystemExit as exc:
                assert exc.code in (0, None), (args, exc.code)
        run("--help")
        run("synth", "--help")
        run("synth", "--tones", "120", "--duration", "0.2", "-o", {str(tmp_path / 'c.wav')!r})
        run("spectro", {str(tmp_path / 'c.wav')!r}, "-o", {str(tmp_path / 'c.npy')!r})
        run("synth", "-o", {str(tmp_path / 'ds')!r}, "--positive", "120", "--n", "4", "--duration", "0.2")
        run("spectro", {str(tmp_path / 'ds')!r}, "-o", {str(tmp_path / 'spec')!r}, "--workers", "1")
        heavy = sorted(m for m in ("torch", "sklearn", "librosa", "matplotlib") if m in sys.modules)
        print("HEAVY=" + ",".join(heavy))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "HEAVY=", proc.stdout.strip().splitlines()[-1]
    assert (tmp_path / "c.npy").exists() and (tmp_path / "spec" / "labels.csv").exists()


def test_library_never_imports_the_shell():
    """lfkit/ is the library: it imports neither typer nor the shell, and never reads sys.argv."""
    offenders = []
    for f in sorted((ROOT / "lfkit").rglob("*.py")):
        for node in ast.walk(ast.parse(f.read_text(), str(f))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Attribute) and node.attr == "argv":
                names = ["sys.argv"]
            offenders += [f"{f.relative_to(ROOT)}: {n}" for n in names
                          if n.split(".")[0] in ("typer", "click", "lfkit_cli", "cli") or n == "sys.argv"]
    assert offenders == []


# ----------------------------------------------------------------------------- the pipe


def test_synth_pipe_spectro_default_shape(lfkit):
    """README: ``lfkit synth --tones 120,340,777 --snr -30 --seed 7 | lfkit spectro - > x.npy``."""
    synth = subprocess.Popen([*LFKIT, "synth", "--tones", "120,340,777", "--snr", "-30", "--seed", "7"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    spectro = subprocess.run([*LFKIT, "spectro", "-"], stdin=synth.stdout, capture_output=True, timeout=120)
    synth.stdout.close()
    assert synth.wait(timeout=60) == 0 and synth.stderr.read() == b""
    assert spectro.returncode == 0 and spectro.stderr == b""  # quiet: data only
    S = npy(spectro.stdout)
    # n_fft=4096, hop 1024, band 0-1000 Hz: bins 0..92 (10.77 Hz apart), 1 + (44100 - 4096)//1024 frames
    assert S.shape == (93, 40) and S.dtype == np.float32
    assert abs(S.mean()) < 1e-4 and abs(S.std() - 1) < 1e-3  # per-clip standardisation
    level = S.mean(axis=1)  # time-averaged level per 10.77 Hz bin
    for f in (120, 340, 777):
        k = round(f * 4096 / 44100)
        assert level[k - 1 : k + 2].max() > np.percentile(level, 95), f  # each tone stands out


def test_file_stdin_and_output_agree(lfkit, clip_1s, tmp_path):
    a = lfkit("spectro", clip_1s, "-o", tmp_path / "a.npy")
    b = lfkit("spectro", "-", input=clip_1s.read_bytes())
    assert a.returncode == b.returncode == 0 and a.stdout == b"" and a.stderr == b""
    assert np.array_equal(np.load(tmp_path / "a.npy"), npy(b.stdout))
    assert leftovers(tmp_path) == []


def test_logmel_nyquist_shape_and_norm_none(lfkit_fast, clip_1s, tmp_path):
    flags = ["--kind", "logmel", "--n-fft", "2048", "--hop-length", "512", "--n-mels", "128", "--norm", "none"]
    proc = lfkit_fast("spectro", clip_1s, *flags, "--fmax", "nyquist")
    assert proc.returncode == 0, proc.stderr
    S = npy(proc.stdout)
    assert S.shape == (128, 1 + (44100 - 2048) // 512) and S.dtype == np.float32
    assert S.max() - S.min() <= 80.0 + 1e-3  # log-mel keeps librosa's top_db=80
    band = npy(lfkit_fast("spectro", clip_1s, *flags, "--fmax", "1000").stdout)
    assert S.shape == band.shape and not np.allclose(S, band)  # 'nyquist' is not silently the default 1000 Hz
    out = tmp_path / "spec"
    assert lfkit_fast("spectro", clip_1s.parent, "-o", out, *flags, "--fmax", "nyquist").returncode == 0
    assert json.loads((out / "frontend.json").read_text())["frontend"]["fmax"] is None
    assert np.array_equal(np.load(out / "clip.npy"), S)


def test_sigpipe_is_quiet(tmp_path):
    proc = subprocess.Popen([*LFKIT, "synth", "--duration", "5"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    head = proc.stdout.read(10)
    proc.stdout.close()
    proc.wait(timeout=60)
    assert head[:4] == b"RIFF" and proc.stderr.read() == b""


def test_debug_adds_a_traceback(lfkit, bad_audio):
    plain = lfkit("spectro", bad_audio["empty"])
    debug = lfkit("--debug", "spectro", bad_audio["empty"])
    assert plain.returncode == debug.returncode == 1
    assert "Traceback" not in plain.stderr.decode() and "Traceback" in debug.stderr.decode()
    assert debug.stderr.decode().rstrip().endswith(f"lfkit spectro: error: {bad_audio['empty']}: empty file")


# ----------------------------------------------------------------------------- bad input: nothing half-written


@pytest.mark.parametrize(
    "kind,message",
    [("empty", "empty file"), ("not_audio", "not a readable audio file"), ("truncated", "truncated WAV"),
     ("zero_length", "zero-length audio"), ("too_short", "shorter than one FFT window"),
     ("nan", "NaN or Inf"), ("inf", "NaN or Inf")],
)
def test_spectro_bad_file(lfkit_fast, bad_audio, tmp_path, kind, message):
    out = tmp_path / "x.npy"
    line = assert_clean_failure(lfkit_fast("spectro", bad_audio[kind], "-o", out), "spectro", codes=(1,))
    assert message in line and str(bad_audio[kind]) in line
    assert not out.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kind", ["empty", "not_audio", "too_short"])
def test_spectro_bad_stdin(lfkit, bad_audio, kind):
    line = assert_clean_failure(lfkit("spectro", "-", input=bad_audio[kind].read_bytes()), "spectro", codes=(1,))
    assert "<stdin>" in line


@pytest.mark.parametrize("output", ["x.npy", "-", "outdir"])
def test_spectro_missing_input_is_named(lfkit_fast, tmp_path, output):
    missing = tmp_path / "nowhere.wav"
    line = assert_clean_failure(lfkit_fast("spectro", missing, "-o", output if output == "-" else tmp_path / output),
                                "spectro", codes=(1,))
    assert f"{missing}: no such file" in line
    assert list(tmp_path.iterdir()) == []


def _labels_missing_file(folder: Path):
    sf.write(str(folder / "a.wav"), np.full(8820, 0.1, np.float32), 44100)
    (folder / "labels.csv").write_text("path,label\na.wav,pos\nb.wav,neg\n")
    return folder, "b.wav"


def _labels_no_columns(folder: Path):
    sf.write(str(folder / "a.wav"), np.full(8820, 0.1, np.float32), 44100)
    (folder / "labels.csv").write_text("file,class\na.wav,pos\n")
    return folder, "missing column(s) path, label"


def _no_audio(folder: Path):
    (folder / "notes.txt").write_text("nothing to hear")
    (folder / "sub").mkdir()
    return folder, "holds no audio"


@pytest.mark.parametrize(
    "make,as_csv",
    [(_labels_missing_file, False), (_labels_missing_file, True), (_labels_no_columns, False),
     (_labels_no_columns, True), (_no_audio, False)],
)
def test_spectro_bad_dataset(lfkit_fast, tmp_path, make, as_csv):
    src = tmp_path / "in"
    src.mkdir()
    src, message = make(src)
    target = src / "labels.csv" if as_csv else src
    out = tmp_path / "out"
    line = assert_clean_failure(lfkit_fast("spectro", target, "-o", out), "spectro", codes=(1,))
    assert message in line
    assert not out.exists() and leftovers(tmp_path) == []


@pytest.mark.parametrize(
    "args,message",
    [
        (["--tones", "0"], "tones=0 Hz is outside (0, sr/2)"),
        (["--tones", "-50"], "tones=-50 Hz is outside"),
        (["--tones", "22050"], "tones=22050 Hz is outside"),
        (["--tones", "120,30000"], "tones=30000 Hz is outside"),
        (["--tones", "5000", "--sr", "8000"], "tones=5000 Hz is outside (0, sr/2) = (0, 4000)"),
        (["--duration", "-1"], "duration=-1"),
        (["--duration", "0"], "duration=0"),
        (["--noise", "purple"], "noise='purple'"),
        (["--snr", "-20:-30"], "snr="),
    ],
)
def test_synth_bad_parameter_writes_nothing(lfkit_fast, tmp_path, args, message):
    out = tmp_path / "c.wav"
    line = assert_clean_failure(lfkit_fast("synth", *args, "-o", out), "synth", codes=(2,))
    assert message in line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args", [["--positive", "120,30000"], ["--positive", "120", "--duration", "-1"]])
def test_synth_bad_set_leaves_no_folder(lfkit_fast, tmp_path, args):
    line = assert_clean_failure(lfkit_fast("synth", "-o", tmp_path / "ds", *args, "--n", "4"), "synth", codes=(2,))
    assert "outside" in line or "duration" in line
    assert list(tmp_path.iterdir()) == []


def test_synth_refuses_to_overwrite_a_users_folder(lfkit_fast, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("precious")
    assert_clean_failure(lfkit_fast("synth", "-o", mine, "--positive", "120", "--n", "2", "--duration", "0.1"),
                         "synth", codes=(2,))
    assert [p.name for p in mine.iterdir()] == ["thesis.tex"] and leftovers(tmp_path) == []


@pytest.mark.parametrize(
    "args,message",
    [
        (["--kind", "sonogram"], "kind='sonogram' is not known; choose one of: linear, log, mel, logmel, pcen, mfcc"),
        (["--n-fft", "0"], "n_fft=0 must be a positive integer"),
        (["--hop-length", "-3"], "hop_length=-3"),
        (["--norm", "minmax"], "norm='minmax'"),
        (["--fmax", "30000"], "fmax=30000"),
        (["--channel", "3"], "channel=3"),
    ],
)
def test_spectro_bad_parameter_writes_nothing(lfkit_fast, clip_1s, tmp_path, args, message):
    out = tmp_path / "x.npy"
    line = assert_clean_failure(lfkit_fast("spectro", clip_1s, *args, "-o", out), "spectro", codes=(2,))
    assert message in line
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- batches and datasets


def test_batch_with_corrupt_files_writes_the_rest_and_exits_1(lfkit_fast, small_set, bad_audio, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for r in rows_of(small_set)[:3]:
        (src / r["path"]).write_bytes((small_set / r["path"]).read_bytes())
    (src / "zz_bad.wav").write_bytes(bad_audio["not_audio"].read_bytes())
    (src / "zz_short.wav").write_bytes(bad_audio["too_short"].read_bytes())  # two bad: still exit 1, not 2
    out = tmp_path / "out"
    proc = lfkit_fast("spectro", src, "-o", out)
    assert proc.returncode == 1 and proc.stdout == b""
    err = proc.stderr.decode().splitlines()
    assert len(err) == 2 and all(line.startswith("lfkit spectro: error: ") for line in err)
    assert "zz_bad.wav" in err[0] and "zz_short.wav" in err[1]
    assert sorted(p.name for p in out.glob("*.npy")) == ["c00000.npy", "c00001.npy", "c00002.npy"]
    assert [r["path"] for r in rows_of(out)] == ["c00000.npy", "c00001.npy", "c00002.npy"]
    assert leftovers(tmp_path) == []


def test_batch_of_only_bad_files_writes_no_folder(lfkit_fast, bad_audio, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for k in ("empty", "nan"):
        (src / f"{k}.wav").write_bytes(bad_audio[k].read_bytes())
    proc = lfkit_fast("spectro", src, "-o", tmp_path / "out")
    assert proc.returncode == 1 and proc.stdout == b""
    assert not (tmp_path / "out").exists() and leftovers(tmp_path) == []


@pytest.mark.parametrize("workers", ["1", "2"])
def test_dataset_columns_carry_through(lfkit_fast, small_set, tmp_path, workers):
    out = tmp_path / "spec"
    proc = lfkit_fast("spectro", small_set, "-o", out, "--n-fft", "1024", "--hop-length", "256", "--kind", "logmel",
                 "--n-mels", "32", "--fmax", "nyquist", "--workers", workers)
    assert proc.returncode == 0 and proc.stdout == b"" and proc.stderr == b""
    src, got = rows_of(small_set), rows_of(out)
    with open(out / "labels.csv", newline="") as fh:
        assert next(csv.reader(fh))[:6] == ["path", "label", "snr_db", "tones", "noise", "shared"]
    assert [r["path"] for r in got] == [r["path"].replace(".wav", ".npy") for r in src]
    for a, b in zip(src, got):
        assert {k: v for k, v in a.items() if k != "path"} == {k: b[k] for k in a if k != "path"}
        S = np.load(out / b["path"])
        assert S.shape == (32, 1 + (8820 - 1024) // 256) and S.dtype == np.float32
    fe = json.loads((out / "frontend.json").read_text())["frontend"]
    assert fe | {} == fe and (fe["kind"], fe["n_fft"], fe["hop_length"], fe["n_mels"], fe["fmax"]) == (
        "logmel", 1024, 256, 32, None)
    # each .npy is what the single-file command gives for that clip
    single = lfkit_fast("spectro", small_set / src[0]["path"], "--n-fft", "1024", "--hop-length", "256",
                   "--kind", "logmel", "--n-mels", "32", "--fmax", "nyquist")
    assert np.array_equal(npy(single.stdout), np.load(out / got[0]["path"]))


def test_dataset_output_is_replaced_atomically(lfkit_fast, small_set, tmp_path):
    out = tmp_path / "spec"
    assert lfkit_fast("spectro", small_set, "-o", out, "--n-fft", "1024").returncode == 0
    assert lfkit_fast("spectro", small_set, "-o", out, "--n-fft", "2048").returncode == 0  # an lfkit dataset: replaced
    assert json.loads((out / "frontend.json").read_text())["frontend"]["n_fft"] == 2048
    assert leftovers(tmp_path) == []


def test_chunks(lfkit_fast, tmp_path):
    long = tmp_path / "long.wav"
    assert lfkit_fast("synth", "--tones", "300", "--duration", "1.3", "--seed", "2", "-o", long).returncode == 0
    out = tmp_path / "long.npy"
    flags = ["--n-fft", "1024", "--hop-length", "512"]
    proc = lfkit_fast("spectro", long, "-o", out, "--chunk", "0.5", "--chunk-hop", "0.25", *flags)
    assert proc.returncode == 0 and proc.stderr == b""
    S = np.load(out)
    n = int(0.5 * 44100)
    assert S.shape == (4, 1 + int(1000 * 1024 / 44100), 1 + (n - 1024) // 512)  # starts 0, .25, .5, .75
    with open(f"{out}.chunks.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(int(r["chunk"]), float(r["start"]), float(r["end"])) for r in rows] == [
        (0, 0.0, 0.5), (1, 0.25, 0.75), (2, 0.5, 1.0), (3, 0.75, 1.25)]
    # chunk 2 is the spectrogram of samples [0.5 s, 1.0 s)
    y, sr = sf.read(str(long), dtype="float32")
    part = tmp_path / "part.wav"
    sf.write(str(part), y[n : 2 * n], sr, subtype="FLOAT")
    single = lfkit_fast("spectro", part, *flags)
    assert np.allclose(npy(single.stdout), S[2], atol=1e-4)


def test_chunks_in_a_batch(lfkit_fast, small_set, tmp_path):
    out = tmp_path / "spec"
    proc = lfkit_fast("spectro", small_set, "-o", out, "--chunk", "0.1", "--n-fft", "1024", "--hop-length", "512")
    assert proc.returncode == 0, proc.stderr
    rows = rows_of(out)
    assert all(r["n_chunks"] == "2" for r in rows)
    assert np.load(out / rows[0]["path"]).shape[0] == 2
    assert (out / f"{rows[0]['path']}.chunks.csv").exists()
    assert json.loads((out / "frontend.json").read_text())["chunk_s"] == 0.1


def test_many_inputs_to_one_npy_is_refused(lfkit_fast, small_set, tmp_path):
    line = assert_clean_failure(lfkit_fast("spectro", small_set, "-o", tmp_path / "x.npy"), "spectro", codes=(2,))
    assert "output=" in line and not (tmp_path / "x.npy").exists()
