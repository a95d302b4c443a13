"""``lfkit train-binary``: one signature against all others."""

from __future__ import annotations

import typer

from lfkit.config import AugmentConfig, TrainConfig
from lfkit_cli import options as opt
from lfkit_cli.common import boundary, epoch_printer, reporter
from lfkit_cli.frontend_opts import with_frontend

_D = TrainConfig()
_A = AugmentConfig()


@boundary("train-binary")
@with_frontend
def train_binary(
    data: str = typer.Argument(..., help="Dataset folder (audio or spectrograms, with labels.csv) or a labels.csv."),
    output: str = opt.output(..., "Model file to write."),
    positive: str = typer.Option("positive", "--positive", help="The target label; every other label is the rest."),
    arch: str = typer.Option(_D.arch, "--arch", help="Network, or reference detector (knowntone, logreg).",
                             click_type=opt.choice(opt.binary_arch_names)),
    tones: str = typer.Option(None, "--tones", help="knowntone: the target's tones, Hz [default: signatures.json]."),
    epochs: int = typer.Option(_D.epochs, "--epochs", help="Most epochs (early stopping keeps the best)."),
    batch_size: int = typer.Option(_D.batch_size, "--batch-size", help="Clips per batch."),
    lr: float = opt.lr(_D.lr),
    lr_search: str = opt.lr_search(),
    val_fraction: float = typer.Option(_D.val_fraction, "--val-fraction", help="Held-out share per class."),
    patience: int = typer.Option(_D.patience, "--patience", help="Epochs without improvement before stopping (0: never)."),
    seed: int = opt.seed(_D.seed),
    device: str = opt.device(_D.device),
    augment: str = typer.Option(",".join(_A.kinds) or "none", "--augment",
                                help="Multi-condition training: none, or a list of gain,shift,noise,pitch,tmask,fmask."),
    augment_snr: str = typer.Option(f"{_A.snr_db[0]:g}:{_A.snr_db[1]:g}", "--augment-snr",
                                    help="Clip-to-added-noise (or background) power ratio, dB, LO:HI in -60..60."),
    augment_copies: int = typer.Option(_A.copies, "--augment-copies", help="Augmented copies of each training clip."),
    background: str = typer.Option(None, "--background", help="Folder of your own target-free recordings to mix in."),
    mean_branch: bool = typer.Option(_D.mean_branch, "--mean-branch/--no-mean-branch",
                                     help="speccnn: add the time-averaged-spectrum branch."),
    probe: bool = typer.Option(_D.probe, "--probe/--no-probe",
                               help="Fuse the network with a linear probe on the time-averaged spectrogram, "
                               "weighed on the validation split (weight 0 keeps the network alone)."),
    ensemble: int = typer.Option(_D.ensemble, "--ensemble", help="Train K networks (seeds SEED..SEED+K-1) into one "
                                 "model; its score is their mean."),
    workers: int = opt.workers(),
    log: str = opt.log(),
    resume: bool = opt.resume("Go on from OUTPUT.ckpt, the checkpoint an interrupted run left."),
    quiet: bool = opt.quiet(),
    channel: int = opt.channel(),
    frontend_changes: dict = None,
):
    """Train a binary detector (BCE, early stopping on validation loss); the front end is stored in the model."""
    from lfkit.augment import parse_augment, parse_augment_snr
    from lfkit.checkpoint import training_files
    from lfkit.lr_search import parse_lr_search
    from lfkit.train import train_binary as run

    cfg = TrainConfig(arch=arch, epochs=epochs, batch_size=batch_size, lr=lr, val_fraction=val_fraction,
                      patience=patience, seed=seed, device=device, mean_branch=mean_branch, probe=probe,
                      ensemble=ensemble, lr_search=parse_lr_search(lr_search))
    aug = _A.replace(kinds=parse_augment(augment), snr_db=parse_augment_snr(augment_snr), copies=augment_copies)
    hooks = {"on_epoch": epoch_printer("train-binary", quiet)}
    with training_files(output, log, resume, hooks, notice=reporter("train-binary", quiet)) as hooks:
        run(data, output, positive, cfg, frontend_changes, workers, None, hooks=hooks, tones=tones, augment=aug,
            background=background, notice=reporter("train-binary", quiet), channel=channel)


def register(app: typer.Typer) -> None:
    app.command("train-binary", epilog=opt.example(
        "lfkit train-binary train -o speccnn.pt --positive positive --arch speccnn --epochs 20 --seed 0 "
        "--log train.jsonl"))(train_binary)
