"""``lfkit synth``: tones in noise, one clip or a whole dataset."""

from __future__ import annotations

import typer

from lfkit.config import NOISE_KINDS, SynthConfig
from lfkit_cli import options as opt
from lfkit_cli.common import boundary

_D = SynthConfig()


@boundary("synth")
def synth(
    output: str = opt.output("-", "WAV file, '-' for standard output, or a folder for a set."),
    tones: str = typer.Option(None, "--tones", help="One clip's tones, Hz, comma-separated [default: 1-10 random]."),
    snr: str = typer.Option(f"{_D.snr_db:g}", "--snr", help="Per-tone SNR in dB, or LO:HI drawn per clip."),
    duration: float = typer.Option(_D.duration_s, "--duration", help="Clip length, seconds."),
    sr: int = typer.Option(_D.sr, "--sr", help="Sample rate, Hz."),
    noise: str = typer.Option(_D.noise, "--noise", help="Noise colour.", click_type=opt.choice(NOISE_KINDS)),
    seed: int = opt.seed(),
    positive: str = typer.Option(None, "--positive", help="Binary set: the positive signature's tones, Hz."),
    n: int = typer.Option(None, "--n", help="Set size (binary) or clips per class (multi-class)."),
    label: str = typer.Option("positive", "--label", help="Name of the positive class."),
    positive_only: bool = typer.Option(False, "--positive-only", help="Only positives (one-class training)."),
    classes: int = typer.Option(None, "--classes", help="Multi-class set: this many random signatures."),
    signatures: str = typer.Option(None, "--signatures", help="Multi-class set: JSON {name: [Hz, ...]}."),
    float32: bool = typer.Option(False, "--float", help="Write 32-bit float WAV instead of 16-bit PCM."),
    min_tones: int = typer.Option(_D.min_tones, "--min-tones", help="Fewest random tones."),
    max_tones: int = typer.Option(_D.max_tones, "--max-tones", help="Most random tones."),
    jitter_hz: float = typer.Option(_D.jitter_hz, "--jitter-hz", help="Per-clip tone frequency jitter (std), Hz."),
    drift_hz: float = typer.Option(_D.drift_hz, "--drift-hz", help="Largest slow drift over a clip, Hz."),
    gain_spread_db: float = typer.Option(_D.gain_spread_db, "--gain-spread-db", help="Per-tone gain spread (std), dB."),
    harmonics: int = typer.Option(_D.harmonics, "--harmonics", help="Harmonics added to every tone."),
    background: str = typer.Option(None, "--background", help="Your own recordings (folder or file): tones go into "
                                   "random excerpts of them, SNR measured against them, instead of generated noise."),
    channel: int = opt.channel("Read this channel (0-based) of the --background recordings instead of their mean."),
):
    """Generate tones in noise: one clip to a WAV (or standard output), or a dataset folder with labels.csv."""
    from lfkit.synth import synthesize

    cfg = SynthConfig(sr=sr, duration_s=duration, noise=noise, min_tones=min_tones, max_tones=max_tones,
                      jitter_hz=jitter_hz, drift_hz=drift_hz, gain_spread_db=gain_spread_db, harmonics=harmonics)
    synthesize(output, cfg, snr=snr, seed=seed, tones=tones, positive=positive, n=n, label=label,
               positive_only=positive_only, classes=classes, signatures=signatures,
               subtype="FLOAT" if float32 else "PCM_16", background=background, channel=channel)


def register(app: typer.Typer) -> None:
    app.command("synth", epilog=opt.example(
        "lfkit synth --tones 120,340,777 --snr -30 --duration 1 --seed 7 > clip.wav",
        "lfkit synth -o train --positive 120,340 --n 200 --snr -40:-20 --seed 0"))(synth)
