"""``lfkit export``: a model file as an ONNX graph (front end inside where it can be)."""

from __future__ import annotations

import typer

from lfkit_cli import options as opt
from lfkit_cli.common import boundary, reporter


@boundary("export")
def export(
    model: str = typer.Argument(..., help="Model file (*.pt): binary, one-class (ocsvm or gmm detector) or siamese."),
    output: str = opt.output(..., "ONNX file; NAME.frontend.json goes beside it when the front end (pcen, whiten) "
                             "stays outside the graph."),
    opset: int = typer.Option(17, "--opset", help="ONNX operator set of the graph (14 to 20)."),
    quiet: bool = opt.quiet(),
):
    """Write the model as an ONNX graph: waveform (N, n_samples) in, score (higher = more like the target) or
    embedding out."""
    from lfkit.export import export_model

    export_model(model, output, opset=opset, notice=reporter("export", quiet))
    return 0


def register(app: typer.Typer) -> None:
    app.command("export", epilog=opt.example(
        "lfkit export speccnn.pt -o speccnn.onnx",
        "lfkit export oneclass.pt -o oneclass.onnx --opset 14"))(export)
