"""``lfkit eval``: metrics of score records against labels, as JSON."""

from __future__ import annotations

import typer

from lfkit_cli import options as opt
from lfkit_cli.common import boundary, reporter


@boundary("eval")
def eval_(
    scores: str = typer.Argument(..., help="JSON Lines from lfkit score ('-': standard input)."),
    labels: str = typer.Option(None, "--labels", help="labels.csv or dataset folder [default: labels in the records]."),
    positive: str = typer.Option(None, "--positive", help="Target label [default: the model's]."),
    threshold: float = typer.Option(None, "--threshold", help="Decision threshold [default: the records']."),
    by: str = typer.Option(None, "--by", help="Repeat the metrics per value of this label column (e.g. snr_db)."),
    bins: str = typer.Option(None, "--bins", help="With --by: N equal-width bins of a numeric column, or edges 'A,B,C'."),
    pairs: str = typer.Option(None, "--pairs", help="Siamese verification: pairs.csv with a 'same' column."),
    output: str = opt.output("-", "JSON file ('-': standard output)."),
    plot: str = typer.Option(None, "--plot", help="Draw the ROC curve to this PNG (needs matplotlib)."),
    quiet: bool = opt.quiet(),
):
    """AUC, pAUC (FPR <= 0.1), EER, accuracy/precision/recall/F1 and confusion at the threshold; top-1 and MAP@3 for multi-class."""
    from lfkit.evaluate import run_eval

    run_eval(scores, labels, positive, threshold, by, output, plot, pairs=pairs, notice=reporter("eval", quiet),
             bins=bins)


def register(app: typer.Typer) -> None:
    app.command("eval", epilog=opt.example(
        "lfkit eval scores.jsonl --labels test --by snr_db -o metrics.json --plot roc.png"))(eval_)
