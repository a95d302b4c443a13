"""``lfkit clips``: long recordings + Raven selection tables or Audacity labels -> a labelled dataset folder."""

from __future__ import annotations

import typer

from lfkit_cli import options as opt
from lfkit_cli.common import boundary


@boundary("clips")
def clips(
    inputs: list[str] = typer.Argument(..., help="Recordings (.wav, .flac, ...) and their selection tables "
                                       "(Raven .txt, Audacity labels), in any order."),
    output: str = opt.output(..., "Dataset folder to write (WAVs + labels.csv)."),
    clip: float = typer.Option(None, "--clip", help="Clip length, seconds, centred on each annotation "
                               "[default: the longest annotation]."),
    negatives: int = typer.Option(None, "--negatives", help="Negative clips from unannotated time "
                                  "[default: one per annotation]."),
    seed: int = opt.seed(),
    channel: int = opt.channel("Cut every clip from this channel (0-based); it wins over a Raven table's "
                               "Channel column (1-based), which is used without it [default: the annotation's "
                               "Channel, else the mean]."),
    label: str = typer.Option("positive", "--label", help="Label of the annotated clips."),
    label_column: str = typer.Option(None, "--label-column", help="Take each clip's label from this table column "
                                     "(e.g. Raven's 'Annotation'; Audacity's text is 'annotation')."),
):
    """Cut annotated clips and negatives out of long recordings into a labelled dataset folder."""
    from lfkit.clips import make_clips

    make_clips(inputs, output, clip_s=clip, n_negative=negatives, seed=seed, label=label, label_column=label_column,
               channel=channel)


def register(app: typer.Typer) -> None:
    app.command("clips", epilog=opt.example(
        "lfkit clips rec.wav rec.Table.1.selections.txt -o set",
        "lfkit clips recordings/ labels/ -o set --clip 2 --negatives 200 --label-column Annotation"))(clips)
