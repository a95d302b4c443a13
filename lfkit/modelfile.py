"""The model file: one versioned dictionary, loaded without executing code.

A model file is written with ``torch.save`` and read with
``torch.load(..., weights_only=True)``, whose unpickler accepts only tensors
and plain containers, so a crafted file cannot run code. The dictionary::

    format          "lfkit-model"
    format_version  lfkit.MODEL_FORMAT_VERSION (an int)
    lfkit_version   the lfkit release that wrote it
    regime          "binary" | "oneclass" | "siamese" | "knowntone" | "baseline"
    arch, arch_kwargs   the registry name and JSON-able arguments of the network
    state_dict      its weights (tensors)
    frontend        FrontendConfig.to_dict()
    input           {"kind": "spectrogram"|"waveform", "sr": Hz, "n_samples": int, "shape": [F, T]}
    classes         class names; "positive" the target class's name
    threshold       decision threshold on the score (higher score = more like the target)
    training        metadata (epochs, seed, metrics, data)
    extra           regime-specific state (a detector, enrolled embeddings), numpy arrays as tensors

numpy arrays are stored as tensors and come back as numpy arrays.
"""

from __future__ import annotations

import io as _io
import json
from pathlib import Path

import numpy as np

from lfkit import MODEL_FORMAT_VERSION, __version__
from lfkit import io
from lfkit.config import FrontendConfig
from lfkit.errors import DataError
from lfkit.modelcheck import check_model_doc, check_network_size

__all__ = ["FORMAT_TAG", "save_model", "load_model", "model_display_name"]

FORMAT_TAG = "lfkit-model"
_REQUIRED = ("format", "format_version", "lfkit_version", "regime", "frontend", "input")


def _to_storable(obj):
    """numpy arrays -> tensors, recursively; other leaves must be plain Python values."""
    import torch

    if isinstance(obj, np.ndarray):
        return {"__ndarray__": torch.from_numpy(np.ascontiguousarray(obj))}
    if isinstance(obj, dict):
        return {str(k): _to_storable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_to_storable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def _from_storable(obj):
    import torch

    if isinstance(obj, dict):
        if set(obj) == {"__ndarray__"} and isinstance(obj["__ndarray__"], torch.Tensor):
            return obj["__ndarray__"].numpy()
        return {k: _from_storable(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_from_storable(v) for v in obj]
    return obj


#: Training metadata left out of model files: run times (they go to the log and the summary), not the model.
_TIMING_KEYS = ("seconds", "eta_s")


def _reproducible(obj):
    """Training metadata without timings, and data paths reduced to their last part.

    The same data, flags and seed then give a byte-identical model file
    wherever and however fast it was trained.
    """
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if k in _TIMING_KEYS:
                continue
            if k in ("data", "aux", "background") and isinstance(v, str) and v not in ("", io.STDIO):
                v = Path(v).name
            out[k] = _reproducible(v)
        return out
    if isinstance(obj, list):
        return [_reproducible(v) for v in obj]
    return obj


def save_model(path, regime: str, frontend: FrontendConfig, input_info: dict, *, arch=None, arch_kwargs=None,
               state_dict=None, classes=None, positive=None, threshold=None, training=None, extra=None) -> dict:
    """Write a model file atomically and return the dictionary written.

    Parameters
    ----------
    path : str or Path
        Destination (``-`` for standard output).
    regime : str
        Which kind of model this is (see the module docstring).
    frontend : FrontendConfig
        The front end training used; scoring applies it to raw audio.
    input_info : dict
        ``kind``, ``sr`` (Hz), ``n_samples`` of a training clip, ``shape`` [F, T].
    """
    import torch

    doc = {
        "format": FORMAT_TAG,
        "format_version": MODEL_FORMAT_VERSION,
        "lfkit_version": __version__,
        "regime": regime,
        "arch": arch,
        "arch_kwargs": dict(arch_kwargs or {}),
        "state_dict": {k: v.detach().cpu().clone() for k, v in (state_dict or {}).items()},
        "frontend": frontend.to_dict(),
        "input": dict(input_info),
        "classes": list(classes or []),
        "positive": positive,
        "threshold": None if threshold is None else float(threshold),
        "training": _reproducible(json.loads(io.dumps(training or {}))),
        "extra": _to_storable(extra or {}),
    }
    buf = _io.BytesIO()
    torch.save(doc, buf)
    io.write_bytes(buf.getvalue(), path)
    return doc


def load_model(path) -> dict:
    """Read and check a model file without executing anything it holds.

    Returns
    -------
    dict
        The model dictionary; ``frontend`` as a :class:`FrontendConfig`,
        ``extra`` with numpy arrays, ``name`` the file's display name.

    Raises
    ------
    DataError
        Not an lfkit model (including a file that would need to run code to
        load), a truncated file, or one written by an incompatible version.
    """
    import torch

    data = io.read_bytes(path)
    if not data:
        raise DataError(f"{path}: empty file, not an lfkit model")
    try:
        doc = torch.load(_io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle.UnpicklingError, RuntimeError, EOFError, zipfile errors
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{path}: not a readable lfkit model (refused to load: {first[:200]})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT_TAG:
        raise DataError(f"{path}: not an lfkit model (no '{FORMAT_TAG}' format tag)")
    missing = [k for k in _REQUIRED if k not in doc]
    if missing:
        raise DataError(f"{path}: damaged lfkit model (missing {', '.join(missing)})")
    version = doc["format_version"]
    if not isinstance(version, int) or version > MODEL_FORMAT_VERSION or version < 1:
        raise DataError(
            f"{path}: model format {version!r} written by lfkit {doc.get('lfkit_version')} cannot be read by "
            f"lfkit {__version__} (format {MODEL_FORMAT_VERSION}); retrain or upgrade lfkit"
        )
    check_model_doc(doc, path)
    try:
        doc["frontend"] = FrontendConfig.from_dict(doc["frontend"])
    except (TypeError, ValueError) as exc:
        raise DataError(f"{path}: damaged lfkit model (front end: {exc})") from None
    doc["extra"] = _from_storable(doc.get("extra") or {})
    doc["name"] = model_display_name(path)
    return doc


def model_display_name(path) -> str:
    """The name records carry for a model: its file name without the suffix."""
    return "<stdin>" if str(path) == io.STDIO else Path(path).stem


#: Most members ``extra["ensemble"]`` may hold (``train-binary --ensemble K`` stores K - 1 there).
MAX_ENSEMBLE = 63


def build_network(doc: dict):
    """Rebuild the network of a loaded model dictionary, weights in, in eval mode."""
    from lfkit.models import create_model

    if not doc.get("arch"):
        return None
    members = (doc.get("extra") or {}).get("ensemble") or []  # train-binary --ensemble: the other members' weights
    if not isinstance(members, list) or len(members) > MAX_ENSEMBLE:
        raise DataError(f"{doc.get('name', 'model')}: damaged lfkit model (extra.ensemble is not a list of at most "
                        f"{MAX_ENSEMBLE} weight dictionaries)")
    nets = []
    for state in [doc["state_dict"], *members]:
        part = dict(doc, state_dict=state)
        if state is not doc["state_dict"]:  # the same checks as the first member's at load (types, NaN, size)
            fe = doc["frontend"]
            check_model_doc(dict(part, frontend=fe.to_dict() if hasattr(fe, "to_dict") else fe, extra={}),
                            doc.get("name", "model"))
        check_network_size(part)  # on the meta device: nothing allocated yet
        net = create_model(doc["arch"], **doc.get("arch_kwargs", {}))
        try:
            net.load_state_dict(state)
        except (RuntimeError, KeyError, TypeError) as exc:
            detail = " ".join(str(exc).split())  # torch's message spans lines; errors are one line
            raise DataError(f"{doc.get('name', 'model')}: weights do not fit arch={doc['arch']!r} "
                            f"(made by another lfkit version? {detail[:200]})") from None
        nets.append(net)
    if len(nets) > 1:
        from lfkit.models.ensemble import Ensemble

        net = Ensemble(nets)
    net.eval()
    return net
