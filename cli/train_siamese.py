"""``lfkit train-siamese``: learn an embedding that tells signatures apart (few-shot regime)."""

from __future__ import annotations

import json

import typer

from lfkit.config import MINING_KINDS, SIAMESE_AUGMENTS, SIAMESE_LOSSES, SiameseConfig
from lfkit.errors import ParameterError
from lfkit_cli import options as opt
from lfkit_cli.common import boundary, epoch_printer, reporter
from lfkit_cli.frontend_opts import with_frontend

_D = SiameseConfig()


@boundary("train-siamese")
@with_frontend
def train_siamese(
    data: str = typer.Argument(..., help="Multi-class dataset folder (audio or spectrograms, with labels.csv) or a labels.csv."),
    output: str = opt.output(..., "Model file to write."),
    arch: str = typer.Option(_D.arch, "--arch", help="Backbone network.", click_type=opt.choice(opt.network_names)),
    arch_kwargs: str = typer.Option(None, "--arch-kwargs", help='Backbone arguments as JSON, e.g. \'{"hidden_channels": 32}\'.'),
    loss: str = typer.Option(_D.loss, "--loss", help="Training loss.", click_type=opt.choice(SIAMESE_LOSSES)),
    mining: str = typer.Option(_D.mining, "--mining", help="Triplet mining inside the batch.",
                               click_type=opt.choice(MINING_KINDS)),
    margin: float = typer.Option(_D.margin, "--margin", help="Loss margin, in embedding distance."),
    epochs: int = typer.Option(_D.epochs, "--epochs", help="Epochs (the best validation epoch is kept)."),
    batch_size: int = typer.Option(_D.batch_size, "--batch-size", help="Identities per batch."),
    clips_per_class: int = typer.Option(_D.clips_per_class, "--clips-per-class", help="Clips of each identity per batch."),
    lr: float = opt.lr(_D.lr),
    lr_search: str = opt.lr_search(),
    val_fraction: float = typer.Option(_D.val_fraction, "--val-fraction", help="Share of identities held out for validation."),
    augment: str = typer.Option(_D.augment, "--augment",
                                help="New identities in every batch: shift (roll each identity along frequency by a random shift), twins (shift, and split each identity into two shifted differently), vary (twins, plus per-clip jitter, noise tilt and contrast), none.",
                                click_type=opt.choice(SIAMESE_AUGMENTS)),
    max_shift_bins: int = typer.Option(_D.max_shift_bins, "--max-shift-bins", help="Largest --augment shift, in frequency bins."),
    joint: bool = typer.Option(_D.joint, "--joint/--no-joint", help="Join the embedding with the whitened mean spectrum, weighted on the validation identities."),
    aux: str = typer.Option(None, "--aux", help="Another labelled dataset (real recordings of more sources) to train on beside DATA."),
    embedding_dim: int = typer.Option(_D.embedding_dim, "--embedding-dim", help="Embedding width."),
    seed: int = opt.seed(_D.seed),
    device: str = opt.device(_D.device),
    workers: int = opt.workers(),
    log: str = opt.log(),
    resume: bool = opt.resume("Go on from OUTPUT.ckpt, the checkpoint an interrupted run left."),
    quiet: bool = opt.quiet(),
    channel: int = opt.channel(),
    frontend_changes: dict = None,
):
    """Train a siamese embedding (contrastive or triplet loss); validation on unseen identities picks the epoch and threshold."""
    from lfkit.checkpoint import training_files
    from lfkit.lr_search import parse_lr_search
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
                        seed=seed, device=device, lr_search=parse_lr_search(lr_search))
    hooks = {"on_epoch": epoch_printer("train-siamese", quiet)}
    with training_files(output, log, resume, hooks, notice=reporter("train-siamese", quiet)) as hooks:
        run(data, output, cfg, frontend_changes, workers, None, hooks=hooks, notice=reporter("train-siamese", quiet),
            arch_kwargs=kw, aux=aux, channel=channel)


def register(app: typer.Typer) -> None:
    app.command("train-siamese", epilog=opt.example(
        "lfkit train-siamese multi -o si.pt --arch sispeccnn --loss contrastive --seed 0"))(train_siamese)
