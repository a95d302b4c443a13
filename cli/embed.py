"""``lfkit embed``: a model's embeddings of clips, as an (N, D) float32 NPY and a CSV beside it."""

from __future__ import annotations

import typer

from lfkit_cli import options as opt
from lfkit_cli.common import boundary, problem_reporter, reporter


@boundary("embed")
def embed(
    model: str = typer.Argument(..., help="Model file (*.pt): binary, one-class or siamese."),
    inputs: list[str] = typer.Argument(..., help="Audio files, folders, labels.csv, .npy spectrograms, or '-'."),
    output: str = opt.output(None, "NPY file; its CSV (row, path, start, end, labels) goes beside it [one input: standard output]."),
    chunk: float = opt.chunk("one row"),
    chunk_hop: float = opt.chunk_hop(),
    strict: bool = opt.strict("Refuse audio at another sample rate than the model's."),
    device: str = opt.device(),
    resume: bool = opt.resume("Finish the .partial files an interrupted run left: inputs already there are skipped."),
    quiet: bool = opt.quiet(),
    channel: int = opt.channel(),
    workers: int = opt.workers(),
    scheduler: str = opt.scheduler(),
):
    """Write the model's embedding (penultimate layer, extractor output) of every clip or chunk."""
    from lfkit.embedding import embed as run

    return run(model, inputs, output, chunk_s=chunk, chunk_hop_s=chunk_hop, strict=strict, channel=channel,
               workers=workers, scheduler=scheduler, device=device, resume=resume,
               report=problem_reporter("embed"), notice=reporter("embed", quiet))


def register(app: typer.Typer) -> None:
    app.command("embed", epilog=opt.example("lfkit embed oc.pt test -o emb.npy",
                                            "lfkit embed oc.pt archive/ -o emb.npy --workers 2"))(embed)
