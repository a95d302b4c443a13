"""``lfkit train-oneclass``: a feature extractor and an anomaly detector fitted on the target's clips only."""

from __future__ import annotations

import typer

from lfkit.config import REDUCE_KINDS, OneClassConfig
from lfkit_cli import options as opt
from lfkit_cli.common import boundary, epoch_printer, reporter
from lfkit_cli.frontend_opts import with_frontend

_D = OneClassConfig()


@boundary("train-oneclass")
@with_frontend
def train_oneclass(
    data: str = typer.Argument(..., help="Dataset folder (audio or spectrograms, with labels.csv) or a labels.csv."),
    output: str = opt.output(..., "Model file to write."),
    positive: str = typer.Option(None, "--positive", help="Target label [default: the only label, or 'positive']."),
    extractor: str = typer.Option(_D.extractor, "--extractor", help="Feature extractor: ocspeccnn, raw (the "
                                  "spectrogram itself) or a network of the registry.",
                                  click_type=opt.choice(opt.extractor_names)),
    detector: str = typer.Option(_D.detector, "--detector", help="Anomaly detector on the features.",
                                 click_type=opt.choice(opt.detector_names)),
    reduce: str = typer.Option(_D.reduce, "--reduce", help="raw extractor: mean (time-averaged spectrum), pca or none.",
                               click_type=opt.choice(REDUCE_KINDS)),
    aux: str = typer.Option(None, "--aux", help="Labelled recordings of other sources: each label is one more surrogate class."),
    background: str = typer.Option(None, "--background", help="Recordings of the site without the target: one more surrogate class."),
    surrogates: str = typer.Option(_D.surrogates, "--surrogates", help="Surrogate sources: shift, notch, add (made from the positives), background, tones (lfkit's generator), aux."),
    joint: bool = typer.Option(_D.joint, "--joint/--no-joint", help="Learned extractors: join with a detector on the whitened mean spectrum, weighted on held-out positives."),
    n_surrogate: int = typer.Option(_D.n_surrogate, "--n-surrogate", help="Generated surrogate classes."),
    clips_per_class: int = typer.Option(_D.clips_per_class, "--clips-per-class", help="Clips per surrogate class (0: automatic)."),
    epochs: int = typer.Option(_D.epochs, "--epochs", help="Most epochs of extractor training."),
    batch_size: int = typer.Option(_D.batch_size, "--batch-size", help="Clips per batch."),
    lr: float = opt.lr(_D.lr),
    lr_search: str = opt.lr_search(),
    nu: float = typer.Option(_D.nu, "--nu", help="ocsvm: nu, in (0, 1) (about the share of training positives left outside)."),
    gamma: str = typer.Option(_D.gamma, "--gamma", help="ocsvm: RBF width on standardised features, or 'scale'."),
    n_components: int = typer.Option(_D.n_components, "--n-components", help="gmm: mixture components."),
    n_estimators: int = typer.Option(_D.n_estimators, "--n-estimators", help="iforest: trees."),
    contamination: float = typer.Option(_D.contamination, "--contamination", help="gmm, iforest: expected outlier share."),
    seed: int = opt.seed(_D.seed),
    device: str = opt.device(_D.device),
    workers: int = opt.workers(),
    log: str = opt.log(),
    resume: bool = opt.resume("Go on from OUTPUT.ckpt, the checkpoint an interrupted run left."),
    quiet: bool = opt.quiet(),
    channel: int = opt.channel(),
    frontend_changes: dict = None,
):
    """Train a one-class model from positives only; higher score = more like the target."""
    from lfkit.checkpoint import training_files
    from lfkit.lr_search import parse_lr_search
    from lfkit.oneclass import train_oneclass as run

    cfg = OneClassConfig(extractor=extractor, detector=detector, reduce=reduce, epochs=epochs, batch_size=batch_size,
                         lr=lr, n_surrogate=n_surrogate, clips_per_class=clips_per_class, nu=nu, gamma=gamma,
                         n_components=n_components, n_estimators=n_estimators, contamination=contamination,
                         surrogates=surrogates, joint=joint, seed=seed, device=device,
                         lr_search=parse_lr_search(lr_search))
    hooks = {"on_epoch": epoch_printer("train-oneclass", quiet)}
    with training_files(output, log, resume, hooks, notice=reporter("train-oneclass", quiet)) as hooks:
        run(data, output, positive, cfg, frontend_changes, aux, workers, None, hooks=hooks,
            notice=reporter("train-oneclass", quiet), background=background, channel=channel)


def register(app: typer.Typer) -> None:
    app.command("train-oneclass", epilog=opt.example(
        "lfkit train-oneclass pos -o oc.pt --extractor ocspeccnn --detector ocsvm --seed 0"))(train_oneclass)
