"""``lfkit train-siamese``: learn an embedding that tells signatures apart (few-shot regime)."""

from __future__ import annotations

import json

import typer

from lfkit.config import SiameseConfig
from lfkit.errors import ParameterError
from lfkit_cli.common import boundary, channel_option, epoch_printer, reporter
from lfkit_cli.frontend_opts import with_frontend

_D = SiameseConfig()


@boundary("train-siamese")
@with_frontend
def train_siamese(
    data: str = typer.Argument(..., help="Multi-class dataset folder (audio or spectrograms, with labels.csv) or a labels.csv."),
    output: str = typer.Option(..., "-o", "--output", help="Model file to write."),
    arch: str = typer.Option(_D.arch, "--arch", help="Backbone (see lfkit.models: sispeccnn, lenet, speccnn, ...)."),
    arch_kwargs: str = typer.Option(None, "--arch-kwargs", help='Backbone arguments as JSON, e.g. \'{"hidden_channels": 32}\'.'),
    loss: str = typer.Option(_D.loss, "--loss", help="contrastive|triplet."),
    mining: str = typer.Option(_D.mining, "--mining", help="Triplet mining inside the batch: hard|semihard."),
    margin: float = typer.Option(_D.margin, "--margin", help="Loss margin, in embedding distance."),
    epochs: int = typer.Option(_D.epochs, "--epochs", help="Epochs (the best validation epoch is kept)."),
    batch_size: int = typer.Option(_D.batch_size, "--batch-size", help="Identities per batch."),
    clips_per_class: int = typer.Option(_D.clips_per_class, "--clips-per-class", help="Clips of each identity per batch."),
    lr: float = typer.Option(_D.lr, "--lr", help="Adam learning rate."),
    val_fraction: float = typer.Option(_D.val_fraction, "--val-fraction", help="Share of identities held out for validation."),
    augment: str = typer.Option(_D.augment, "--augment",
                                help="New identities in every batch: shift (roll each identity along frequency by a random shift) | twins (shift, and split each identity into two shifted differently) | vary (twins, plus per-clip jitter, noise tilt and contrast) | none."),
    max_shift_bins: int = typer.Option(_D.max_shift_bins, "--max-shift-bins", help="Largest --augment shift, in frequency bins."),
    joint: bool = typer.Option(_D.joint, "--joint/--no-joint", help="Join the embedding with the whitened mean spectrum, weighted on the validation identities."),
    aux: str = typer.Option(None, "--aux", help="Another labelled dataset (real recordings of more sources) to train on beside DATA."),
    embedding_dim: int = typer.Option(_D.embedding_dim, "--embedding-dim", help="Embedding width."),
    seed: int = typer.Option(_D.seed, "--seed", help="Random seed."),
    device: str = typer.Option(_D.device, "--device", help="cpu or cuda."),
    workers: int = typer.Option(1, "--workers", help="Processes reading the data."),
    channel: int = channel_option(),
    log: str = typer.Option(None, "--log", help="Write the per-epoch history here (JSON Lines), line by line."),
    resume: bool = typer.Option(False, "--resume", help="Go on from OUTPUT.ckpt, the checkpoint an interrupted run left."),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="No progress."),
    frontend_changes: dict = None,
):
    """Train a siamese embedding (contrastive or triplet loss); validation on unseen identities picks the epoch and threshold."""
    from lfkit.checkpoint import training_files
    from lfkit.siamese_train import train_siamese as run

    try:
        kw = json.loads(arch_kwargs) if arch_kwargs else None
    except ValueError:
        raise ParameterError(f"arch_kwargs={arch_kwargs!r} is not a JSON object") from None
    if kw is not None and not isinstance(kw, dict):
        raise ParameterError(f"arch_kwargs={arch_kwargs!r} is not a JSON object")
    cfg = SiameseConfig(arch=arch, loss=loss, mining=mining, margin=margin, epochs=epochs, batch_size=batch_size,
                        clips_per_class=clips_per_class, lr=lr, val_fraction=val_fraction,
                        embedding_dim=embedding_dim, augment=augment, max_shift_bins=max_shift_bins, joint=joint,
                        seed=seed, device=device)
    hooks = {"on_epoch": epoch_printer("train-siamese", quiet)}
    with training_files(output, log, resume, hooks, notice=reporter("train-siamese", quiet)) as hooks:
        run(data, output, cfg, frontend_changes, workers, None, hooks=hooks, notice=reporter("train-siamese", quiet),
            arch_kwargs=kw, aux=aux, channel=channel)


def register(app: typer.Typer) -> None:
    app.command("train-siamese")(train_siamese)
