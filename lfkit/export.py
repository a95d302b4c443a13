"""ONNX export of a model file: the front end (where it can be), the network and the head in one graph.

``lfkit export model.pt -o model.onnx`` writes a graph that onnxruntime (or
any ONNX runtime) runs without lfkit. What goes in and out:

Inputs
    ``waveform`` : float32, shape (N, n_samples), mono audio in [-1, 1] at the
    model's sample rate (metadata ``sr``) and of its training clip length
    (metadata ``n_samples``), when the front end is inside the graph: the
    waveform networks (``wave1d``) and the spectrogram kinds ``linear``,
    ``log``, ``mel``, ``logmel``, ``mfcc``, with ``norm`` ``none`` or ``standard``.
    The short-time Fourier transform is a product of the framed audio with a
    windowed DFT matrix (float64, as lfkit's float64 FFT), power is rounded to
    float32, the mel filterbank and the DCT are products, dB is
    ``10 * log10(max(P, 1e-10))`` with ``top_db=80`` per clip for the mel kinds,
    exactly :func:`lfkit.features.spectrogram_batch`.

    ``spectrogram`` : float32, shape (N, F, T), for the ``pcen`` and ``whiten``
    front ends (stateful along time, or a running median): the front end is
    written beside the graph as ``NAME.frontend.json``
    (:meth:`lfkit.config.FrontendConfig.to_json`, ``sr`` set) and
    ``lfkit spectro`` (or :func:`lfkit.features.spectrogram_batch`) computes it.

Outputs (lfkit's sign: a higher ``score`` is more like the target)
    binary : ``score`` float32 (N,), the probability ``sigmoid(logit)``
    (an ensemble's mean probability), and ``logit`` float32 (N,).
    oneclass : ``score`` float64 (N,), the detector's score (OC-SVM RBF
    decision function or GMM log-likelihood on the standardised embedding),
    and ``embedding`` float32 (N, D), the extractor's output; a calibrated
    gmm adds ``probability`` float64 (N,), its isotonic map of the score.
    siamese : ``embedding`` float32 (N, D), L2-normalised where the model
    normalises; score a clip by the cosine of its embedding with references.

The graph's metadata (``metadata_props``) holds ``lfkit_version``,
``regime``, ``sr``, ``n_samples``, ``frontend`` (JSON), ``input``,
``outputs``, ``threshold`` and ``positive``.

Refused with a :class:`~lfkit.errors.ParameterError`: models without a
network (``knowntone``, ``baseline`` logreg, one-class with the raw
extractor), the isolation-forest detector (a forest of thresholds, not
expressed here). Joint models (learned + classical halves, :mod:`lfkit.joint`)
carry their classical half in the graph too: the whitened time-averaged
spectrum (running median over frequency as a TopK over windows), its PCA and
detector, the robust scales and the weight.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path


from lfkit.errors import DataError, ParameterError, check_number, check_positive_int

__all__ = ["OPSET", "GRAPH_KINDS", "export_model", "frontend_path"]

#: ONNX operator set the graphs are written with, and the range ``--opset`` accepts.
OPSET = 17
OPSETS = (14, 20)
#: Spectrogram kinds computed inside the graph; the others travel as ``NAME.frontend.json``.
GRAPH_KINDS = ("linear", "log", "mel", "logmel", "mfcc")
#: Detectors whose score is written as ONNX operators.
GRAPH_DETECTORS = ("ocsvm", "gmm")
_EXPORTABLE = ("binary networks, one-class models with a learned extractor and an ocsvm or gmm detector, "
               "siamese networks")


def frontend_path(output) -> Path:
    """Where the front-end description of ``output`` goes: ``model.onnx`` -> ``model.frontend.json``."""
    p = Path(output)
    return p.with_name((p.stem if p.suffix else p.name) + ".frontend.json")


def _refuse(doc: dict, why: str):
    raise ParameterError(f"model {doc['name']} ({doc['regime']}) cannot be exported to ONNX: {why}; "
                         f"export works for {_EXPORTABLE}")


def _check_exportable(doc: dict) -> None:
    """Refuse, with one line naming why, a model the graph cannot express."""
    regime, extra = doc["regime"], doc.get("extra") or {}
    if regime not in ("binary", "oneclass", "siamese"):
        _refuse(doc, f"regime {regime!r} has no network")
    if not doc.get("arch"):
        _refuse(doc, "it has no network (raw extractor)")
    if regime == "oneclass":
        name = (extra.get("detector") or {}).get("detector")
        if name not in GRAPH_DETECTORS:
            _refuse(doc, f"detector={name!r} is not expressed as ONNX operators "
                         f"(exportable detectors: {', '.join(GRAPH_DETECTORS)})")
    fe = doc["frontend"]
    spectrogram = (doc.get("input") or {}).get("kind", "spectrogram") == "spectrogram"
    if spectrogram and fe.kind not in GRAPH_KINDS + ("pcen", "whiten"):
        _refuse(doc, f"front end kind={fe.kind!r} is not known to the exporter")


def export_model(model, output, opset: int = OPSET, notice=None) -> dict:
    """The whole of ``lfkit export``: one model file to one ONNX graph (plus its front end's JSON).

    Parameters
    ----------
    model : str or Path
        An lfkit model file (``*.pt``).
    output : str or Path
        The ONNX file, written atomically; ``NAME.frontend.json`` beside it
        when the front end stays outside the graph.
    opset : int
        ONNX operator set, in :data:`OPSETS`.
    notice : callable(str) or None
        Told where a front-end JSON was written.

    Returns
    -------
    dict
        ``output``, ``frontend_json`` (path or None), ``input`` (name and
        shape, ``None`` for the dynamic batch), ``outputs`` (names),
        ``frontend_in_graph``.

    Raises
    ------
    ParameterError
        A model the graph cannot express, or an output that is the model
        (:func:`lfkit.io.check_outputs`); nothing is written.
    DataError
        Not a readable model file, or onnx/onnxruntime missing.
    """
    from lfkit import io
    from lfkit.inference import load_model

    if output is None or str(output) == io.STDIO:
        raise ParameterError("output: name an ONNX file with -o (the graph is binary, not for standard output)")
    check_positive_int("opset", opset)
    check_number("opset", opset, *OPSETS)
    side = frontend_path(output)
    doc = load_model(model)
    _check_exportable(doc)  # a model that cannot be exported is the first thing to say
    io.check_outputs([("output", output), ("output's front-end file", side)], [("model", model)])
    try:
        import onnx
    except ImportError:
        raise DataError("export needs the onnx extra: pip install 'lfkit[onnx]'") from None
    graph, info = _build(doc, opset)
    data = _with_metadata(onnx, graph, doc, info)
    if not info["frontend_in_graph"]:
        io.write_bytes((info["frontend_config"].to_json() + "\n").encode(), side)
        if notice:
            notice(f"front end ({info['frontend_config'].kind}) written beside the graph: {side}")
    io.write_bytes(data, output)
    return {"output": str(output), "frontend_json": None if info["frontend_in_graph"] else str(side),
            "input": info["input"], "outputs": info["outputs"], "frontend_in_graph": info["frontend_in_graph"]}


def _build(doc: dict, opset: int = OPSET):
    """Trace the wrapper module to ONNX bytes; returns (bytes, info)."""
    import io as _io
    import warnings

    import torch

    from lfkit.inference import build_network
    from lfkit.onnx_graph import GraphModel, export_patches

    net = build_network(doc)
    info = doc.get("input") or {}
    sr, n_samples = info.get("sr"), info.get("n_samples")
    kind = info.get("kind", "spectrogram")
    fe = doc["frontend"]
    if not sr or not n_samples:
        raise DataError(f"{doc['name']}: the model file holds no input sample rate or clip length (damaged model)")
    in_graph = kind == "waveform" or fe.kind in GRAPH_KINDS
    wrapper = GraphModel(doc, net, in_graph)
    if in_graph:
        x = torch.zeros(2, int(n_samples))
        name = "waveform"
    else:
        F, T = (int(v) for v in info["shape"])
        x = torch.zeros(2, F, T)
        name = "spectrogram"
    outputs = wrapper.output_names
    buf = _io.BytesIO()
    wrapper.eval()
    with warnings.catch_warnings(), export_patches(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(wrapper, (x,), buf, dynamo=False, input_names=[name], output_names=outputs,
                          dynamic_axes={name: {0: "batch"}, **{o: {0: "batch"} for o in outputs}},
                          opset_version=int(opset))
    fe_used = dataclasses.replace(fe, sr=int(sr)) if fe.sr is None else fe
    return buf.getvalue(), {"frontend_in_graph": in_graph, "frontend_config": fe_used, "outputs": outputs,
                            "input": {"name": name, "shape": [None, *x.shape[1:]]}}


def _with_metadata(onnx, data: bytes, doc: dict, info: dict) -> bytes:
    from lfkit import __version__

    m = onnx.load_from_string(data)
    meta = {
        "lfkit_version": __version__,
        "regime": doc["regime"],
        "arch": str(doc.get("arch")),
        "sr": str(int(doc["input"]["sr"])),
        "n_samples": str(int(doc["input"]["n_samples"])),
        "frontend": info["frontend_config"].to_json(),
        "frontend_in_graph": json.dumps(info["frontend_in_graph"]),
        "input": json.dumps(info["input"]),
        "outputs": json.dumps(info["outputs"]),
        "threshold": json.dumps(doc.get("threshold")),
        "positive": json.dumps(doc.get("positive")),
        "score_sign": "higher score = more like the target",
    }
    for k, v in meta.items():
        p = m.metadata_props.add()
        p.key, p.value = k, v
    m.producer_name = "lfkit"
    onnx.checker.check_model(m)
    return m.SerializeToString()
