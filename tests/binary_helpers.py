"""Shared tiny data for the binary-regime tests (train-binary, model file, score, eval).

Everything is made at test time with lfkit's own generator and cached per
test session, so the one tiny model is trained once and reused by every
test file that needs it.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from typer.testing import CliRunner

#: Tiny sets: 0.5 s clips at a high SNR, so one or two epochs already separate them.
N_CLIPS = 24
DURATION_S = 0.5
POSITIVE = "120,340,777"


def make_set(folder, n: int = N_CLIPS, duration_s: float = DURATION_S, snr="-10", seed: int = 0, sr: int = 44100):
    """``lfkit synth -o folder --positive 120,340,777 --n n --duration d --snr snr --seed seed`` in-process."""
    from lfkit.config import SynthConfig
    from lfkit.synth import synthesize

    synthesize(str(folder), SynthConfig(duration_s=duration_s, sr=sr), snr=str(snr), seed=seed, positive=POSITIVE, n=n)
    return Path(folder)


def train(data, output, arch: str = "speccnn", epochs: int = 2, seed: int = 0, **kw):
    """``lfkit.train.train_binary`` with tiny settings; returns the training summary."""
    from lfkit.config import TrainConfig
    from lfkit.train import train_binary

    cfg = TrainConfig(arch=arch, epochs=epochs, batch_size=8, seed=seed, **kw)
    return train_binary(str(data), str(output), "positive", cfg)


class Shared:
    """Session-wide tiny data: a training set, a model trained on it, a second model."""

    def __init__(self, root: Path):
        self.root = root
        self.data = make_set(root / "train")
        #: 8 clips (4 positive): for the per-architecture and determinism runs.
        self.small = make_set(root / "small", n=8, seed=2)
        self.model = root / "speccnn.pt"
        self.summary = train(self.data, self.model, epochs=2)
        self.model_b = root / "speccnn_b.pt"
        train(self.data, self.model_b, epochs=1, seed=1)


@functools.lru_cache(maxsize=1)
def _shared(root: str) -> Shared:
    return Shared(Path(root))


def shared(tmp_path_factory) -> Shared:
    """The session's :class:`Shared` (built on first use)."""
    base = tmp_path_factory.getbasetemp() / "binary_shared"
    base.mkdir(exist_ok=True)
    return _shared(str(base))


def invoke(*args, input: bytes | None = None):
    """Run ``lfkit ARGS`` in-process (typer's CliRunner); returns (exit_code, stdout bytes, stderr text)."""
    from lfkit_cli.main import app

    try:
        runner = CliRunner(mix_stderr=False)  # click 8.1; 8.2 keeps the streams apart by default
    except TypeError:
        runner = CliRunner()
    result = runner.invoke(app, [str(a) for a in args], input=input)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout_bytes, result.stderr


def one_error_line(stderr: str, command: str) -> str:
    """The single ``lfkit CMD: error: ...`` line of a failed command."""
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"lfkit {command}: error: "), stderr
    return lines[0]


def jsonl(data: bytes | str) -> list[dict]:
    text = data.decode() if isinstance(data, bytes) else data
    return [json.loads(line) for line in text.splitlines() if line.strip()]
