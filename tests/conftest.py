"""Shared test helpers: run the real ``lfkit`` console script, make tiny data.

Every fixture builds its data with lfkit's own generator or with soundfile at
test time: no binary fixtures live in git.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

#: The console script when installed, else the module (same entry point).
LFKIT = [shutil.which("lfkit")] if shutil.which("lfkit") else [sys.executable, "-m", "lfkit_cli.main"]


def run_lfkit(*args, input: bytes | None = None, cwd=None, env=None, timeout: float = 120):
    """Run ``lfkit ARGS`` in a subprocess; returns the CompletedProcess (bytes stdout/stderr)."""
    full_env = {k: v for k, v in os.environ.items() if k != "LFKIT_DEBUG"}
    full_env.update(env or {})
    return subprocess.run(
        [*LFKIT, *map(str, args)],
        input=input if input is not None else b"",
        capture_output=True,
        cwd=cwd,
        env=full_env,
        timeout=timeout,
    )


class _Result:
    """What :func:`invoke_lfkit` returns: the fields of a CompletedProcess the tests read."""

    def __init__(self, returncode: int, stdout: bytes, stderr: bytes):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def cli_runner():
    """A CliRunner that keeps standard error apart (click 8.1 needs ``mix_stderr=False``; 8.2 dropped it)."""
    from typer.testing import CliRunner

    try:
        return CliRunner(mix_stderr=False)
    except TypeError:
        return CliRunner()


def invoke_lfkit(*args, input: bytes | None = None):
    """Run ``lfkit ARGS`` in this process through the Typer app (same parsing, boundary and exit codes).

    About 20 times faster than :func:`run_lfkit`; used where a real process
    adds nothing (the error paths). Standard output and error stay separate.
    """
    from lfkit_cli.main import app

    env = {"LFKIT_DEBUG": None}
    res = cli_runner().invoke(app, [str(a) for a in args], input=input or b"", env=env, catch_exceptions=False)
    return _Result(res.exit_code, res.stdout_bytes, res.stderr_bytes or b"")


def leftovers(folder) -> list[str]:
    """Temporary files or folders an atomic write left behind in ``folder`` (should be none)."""
    return sorted(p.name for p in Path(folder).iterdir() if p.name.startswith(".") and
                  (p.name.endswith(".tmp") or ".old-" in p.name))


def assert_clean_failure(proc, command: str, codes=(1, 2)) -> str:
    """Exit code in ``codes``, nothing on stdout, exactly one ``lfkit CMD: error: ...`` line on stderr."""
    err = proc.stderr.decode()
    assert proc.returncode in codes, (proc.returncode, err)
    assert proc.stdout == b"", proc.stdout[:200]
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"lfkit {command}: error: "), err
    return lines[0]


@pytest.fixture(scope="session")
def lfkit():
    """The ``run_lfkit`` helper (a real ``lfkit`` process) as a fixture."""
    return run_lfkit


@pytest.fixture(scope="session")
def lfkit_fast():
    """The ``invoke_lfkit`` helper (in-process) as a fixture."""
    return invoke_lfkit


def write_bad_audio(folder) -> dict[str, Path]:
    """Every kind of unusable audio the issue names, as files in ``folder``.

    Returns ``{kind: path}`` for ``empty``, ``not_audio``, ``truncated``,
    ``truncated_header``, ``zero_length``, ``too_short`` (shorter than the
    default n_fft=4096), ``nan`` and ``inf``.
    """
    import soundfile as sf

    from lfkit.io import encode_wav

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    good = encode_wav(np.zeros(8820, dtype=np.float32) + 0.1, 44100)
    out = {
        "empty": (b"", ".wav"),
        "not_audio": (b"this is plainly not a sound file\n" * 4, ".wav"),
        "truncated": (good[: len(good) // 2], ".wav"),
        "truncated_header": (good[:30], ".wav"),
    }
    paths = {}
    for kind, (data, ext) in out.items():
        paths[kind] = folder / f"{kind}{ext}"
        paths[kind].write_bytes(data)
    paths["zero_length"] = folder / "zero_length.wav"
    sf.write(paths["zero_length"], np.zeros(0, dtype=np.float32), 44100, subtype="PCM_16")
    paths["too_short"] = folder / "too_short.wav"
    sf.write(paths["too_short"], np.full(1000, 0.1, dtype=np.float32), 44100, subtype="PCM_16")
    for kind, value in (("nan", np.nan), ("inf", np.inf)):
        y = np.full(8820, 0.1, dtype=np.float32)
        y[100] = value
        paths[kind] = folder / f"{kind}.wav"
        sf.write(paths[kind], y, 44100, subtype="FLOAT")
    return paths


@pytest.fixture(scope="session")
def bad_audio(tmp_path_factory) -> dict[str, Path]:
    """:func:`write_bad_audio` in a session-wide folder (read-only use)."""
    return write_bad_audio(tmp_path_factory.mktemp("bad_audio"))


@pytest.fixture(scope="session")
def small_set(tmp_path_factory) -> Path:
    """A binary dataset: 6 clips of 0.2 s (3 positive, 3 negative), seed 0. Read-only."""
    from lfkit.config import SynthConfig
    from lfkit.synth import synthesize

    out = tmp_path_factory.mktemp("sets") / "small"
    synthesize(str(out), SynthConfig(duration_s=0.2), snr="-30:-20", seed=0, positive="120,340,777", n=6)
    return out


@pytest.fixture(scope="session")
def clip_1s(tmp_path_factory) -> Path:
    """One 1 s, 44.1 kHz clip (120, 340, 777 Hz at -30 dB, seed 7), 16-bit WAV. Read-only."""
    from lfkit.config import SynthConfig
    from lfkit.synth import synthesize

    out = tmp_path_factory.mktemp("clips") / "clip.wav"
    synthesize(str(out), SynthConfig(), snr="-30", seed=7, tones="120,340,777")
    return out


@pytest.fixture(autouse=True, scope="session")
def _notes_in_the_session_tmp(tmp_path_factory):
    """lfkit's notes of written files (lfkit.outputs.note_written) go to the session's temporary folder,
    not to the user's ~/.cache, for in-process and subprocess runs alike."""
    os.environ["LFKIT_NOTES"] = str(tmp_path_factory.mktemp("lfkit-notes"))
    yield
