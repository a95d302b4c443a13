"""The model file: a versioned JSON header plus numpy arrays, loaded without executing code.

Format 2 (``lfkit.MODEL_FORMAT_VERSION``) is an uncompressed zip of ``.npy``
members, the layout ``np.savez`` writes: ``header.npy`` holds the UTF-8 JSON
of the model dictionary (a ``uint8`` array) and every array is a member
``a<k>.npy`` that the header names as ``{"__array__": "a<k>"}``. It is read
with ``np.load(allow_pickle=False)``: no object arrays, no pickle, nothing in
the file can run code, and **torch is not needed to read it** (a ``logreg``,
``knowntone`` or ``raw`` one-class model scores with numpy only). Member
dates are fixed, so the same training gives a byte-identical file.

The dictionary::

    format          "lfkit-model"
    format_version  lfkit.MODEL_FORMAT_VERSION (an int)
    lfkit_version   the lfkit release that wrote it
    regime          "binary" | "oneclass" | "siamese" | "knowntone" | "baseline"
    arch, arch_kwargs   the registry name and JSON-able arguments of the network
    state_dict      its weights (numpy arrays once loaded; torch tensors are accepted when saving)
    frontend        FrontendConfig.to_dict()
    input           {"kind": "spectrogram"|"waveform", "sr": Hz, "n_samples": int, "shape": [F, T]}
    classes         class names; "positive" the target class's name
    threshold       decision threshold on the score (higher score = more like the target)
    training        metadata (epochs, seed, metrics, data)
    extra           regime-specific state (a detector, enrolled embeddings), numpy arrays

Format 1 (lfkit <= 0.1.0 before this change) was a ``torch.save`` zip read
with ``torch.load(weights_only=True)``; :data:`MIGRATIONS` upgrades such a
file as it is read (torch is imported for those files only).

Why this format, measured (``python benchmarks/bench_modelfile.py``: a
Spec-CNN of 91,345 weights and a 128-band logreg; load = bytes in memory ->
dictionary of arrays, median of 20, network not built; shared 2-core
machine under load, 2026-11-26):

=================  ============  ============  ==========
model              format        size (B)      load (ms)
=================  ============  ============  ==========
Spec-CNN (binary)  npz (this)    369,420       0.92
Spec-CNN (binary)  torch.save    369,855       1.00
Spec-CNN (binary)  safetensors*  367,903       0.05
logreg             npz (this)    4,659         0.24
logreg             torch.save    5,601         0.39
logreg             safetensors*  4,082         0.03
=================  ============  ============  ==========

``*`` the safetensors layout (8-byte length, JSON header, raw buffers)
written and read with numpy. Sizes agree within 1 % (weights dominate);
every load is under 1.1 ms. What differs is what reading needs: torch.save
needs ``import torch`` (2.2 s here, against 0.17 s for numpy), and its
safety rests on the restricted unpickler's rules. The npz zip and the
safetensors layout are both pickle-free and torch-free; the safetensors
layout loads faster (zero-copy views), but a millisecond is nothing beside
start-up, and reading it means a hand-written parser of untrusted offsets,
dtypes and overlaps, while ``np.load(allow_pickle=False)`` is numpy's own,
tested reader (and ``unzip -l`` shows the members). So: npz.
"""

from __future__ import annotations

import io as _io
import json
import zipfile
from pathlib import Path

import numpy as np

from lfkit import MODEL_FORMAT_VERSION, __version__
from lfkit import io
from lfkit.config import FrontendConfig
from lfkit.errors import DataError
from lfkit.inference.modelcheck import check_model_doc, check_network_size

__all__ = ["FORMAT_TAG", "MIGRATIONS", "save_model", "load_model", "read_raw", "write_raw", "model_display_name",
           "build_network"]

FORMAT_TAG = "lfkit-model"
_REQUIRED = ("format", "format_version", "lfkit_version", "regime", "frontend", "input")
#: Header member of the zip; arrays are ``a<k>.npy``.
_HEADER = "header"
#: Fixed member date: the same model gives the same bytes.
_DATE = (1980, 1, 1, 0, 0, 0)


def _as_array(v):
    """A numpy array of ``v`` when it is an array or a torch tensor, else None (torch is not imported)."""
    if isinstance(v, np.ndarray):
        return v
    if type(v).__module__.startswith("torch") and hasattr(v, "detach"):
        t = v.detach().cpu()
        try:
            return t.numpy()
        except TypeError:  # bfloat16 and friends have no numpy type: float32 holds them exactly
            return t.float().numpy()
    return None


def _split(obj, arrays: dict):
    """JSON-able copy of ``obj`` with every array moved into ``arrays`` and named in its place."""
    a = _as_array(obj)
    if a is not None:
        key = f"a{len(arrays)}"
        arrays[key] = np.ascontiguousarray(a)
        return {"__array__": key}
    if isinstance(obj, dict):
        return {str(k): _split(v, arrays) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_split(v, arrays) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def _join(obj, arrays, where):
    if isinstance(obj, dict):
        if set(obj) == {"__array__"}:
            try:
                return arrays[obj["__array__"]]
            except (KeyError, TypeError):
                raise DataError(f"{where}: damaged lfkit model (array {obj['__array__']!r} is missing)") from None
        return {k: _join(v, arrays, where) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_join(v, arrays, where) for v in obj]
    return obj


def write_raw(doc: dict, path) -> bytes:
    """Write a model dictionary as it stands (no checks) in the current layout; return the bytes.

    ``save_model`` builds the dictionary; tools and tests use this to write
    a modified one.
    """
    arrays: dict = {}
    header = _split(doc, arrays)
    buf = _io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        members = [(_HEADER, np.frombuffer(json.dumps(header, sort_keys=True).encode("utf-8"), np.uint8))]
        for name, a in [*members, *arrays.items()]:
            with zf.open(zipfile.ZipInfo(name + ".npy", _DATE), "w", force_zip64=True) as fh:
                np.lib.format.write_array(fh, a, allow_pickle=False)
    data = buf.getvalue()
    if path is not None:
        io.write_bytes(data, path)
    return data


def read_raw(path, data: bytes | None = None) -> dict:
    """The model dictionary of a file as stored, unchecked, without running code.

    A format-2 file is read with numpy only; a format-1 (``torch.save``)
    file with ``torch.load(weights_only=True)``, its tensors as numpy arrays.

    Raises
    ------
    DataError
        Not a zip of arrays, or refused by the loader.
    """
    data = io.read_bytes(path) if data is None else data
    if not data:
        raise DataError(f"{path}: empty file, not an lfkit model")
    try:
        with zipfile.ZipFile(_io.BytesIO(data)) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable lfkit model (refused to load: not a model archive: {exc})") from None
    if _HEADER + ".npy" not in names:
        return _read_torch(path, data)
    try:
        with np.load(_io.BytesIO(data), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        header = json.loads(arrays.pop(_HEADER).tobytes().decode("utf-8"))
    except Exception as exc:  # ValueError (object arrays), zip errors, JSON errors, truncation
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{path}: not a readable lfkit model (refused to load: {first[:200]})") from None
    return _join(header, arrays, path)


def _tensors_to_numpy(obj):
    a = _as_array(obj)
    if a is not None:
        return a
    if isinstance(obj, dict):
        if set(obj) == {"__ndarray__"}:  # format 1 stored numpy arrays as {"__ndarray__": tensor}
            return _tensors_to_numpy(obj["__ndarray__"])
        return {k: _tensors_to_numpy(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_tensors_to_numpy(v) for v in obj]
    return obj


def _read_torch(path, data: bytes):
    """A format-1 file: ``torch.load(weights_only=True)``, whose unpickler takes only tensors and containers."""
    import torch

    try:
        doc = torch.load(_io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle.UnpicklingError, RuntimeError, EOFError, zipfile errors
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{path}: not a readable lfkit model (refused to load: {first[:200]})") from None
    return doc


def _from_v1(doc: dict) -> dict:
    """Format 1 -> 2: tensors (weights, ensemble members, ``{"__ndarray__": t}``) become numpy arrays."""
    out = dict(doc)
    for key in ("state_dict", "extra"):
        if key in out and out[key] is not None:
            out[key] = _tensors_to_numpy(out[key])
    out["format_version"] = 2
    return out


#: ``MIGRATIONS[v]`` turns a format-``v`` dictionary into format ``v + 1``; applied in turn up to the current one.
MIGRATIONS = {1: _from_v1}


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
    doc = {
        "format": FORMAT_TAG,
        "format_version": MODEL_FORMAT_VERSION,
        "lfkit_version": __version__,
        "regime": regime,
        "arch": arch,
        "arch_kwargs": dict(arch_kwargs or {}),
        "state_dict": {k: _as_array(v).copy() for k, v in (state_dict or {}).items()},
        "frontend": frontend.to_dict(),
        "input": dict(input_info),
        "classes": list(classes or []),
        "positive": positive,
        "threshold": None if threshold is None else float(threshold),
        "training": _reproducible(json.loads(io.dumps(training or {}))),
        "extra": _tensors_to_numpy(extra or {}),
    }
    write_raw(doc, path)
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
    doc = read_raw(path)
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
    while version < MODEL_FORMAT_VERSION:  # the migration hook: older files are upgraded as they are read
        doc = MIGRATIONS[version](doc)
        version = doc["format_version"]
    check_model_doc(doc, path)
    try:
        doc["frontend"] = FrontendConfig.from_dict(doc["frontend"])
    except (TypeError, ValueError) as exc:
        raise DataError(f"{path}: damaged lfkit model (front end: {exc})") from None
    doc["extra"] = doc.get("extra") or {}
    doc["name"] = model_display_name(path)
    return doc


def model_display_name(path) -> str:
    """The name records carry for a model: its file name without the suffix."""
    return "<stdin>" if str(path) == io.STDIO else Path(path).stem


#: Most members ``extra["ensemble"]`` may hold (``train-binary --ensemble K`` stores K - 1 there).
MAX_ENSEMBLE = 63


def _tensors(state: dict) -> dict:
    """A loaded state dictionary (numpy arrays) as torch tensors for ``load_state_dict``."""
    import torch

    if not isinstance(state, dict):
        return state  # load_state_dict names the problem
    return {k: torch.from_numpy(v if v.flags.writeable else v.copy()) if isinstance(v, np.ndarray) else v
            for k, v in state.items()}


def build_network(doc: dict):
    """Rebuild the network of a loaded model dictionary, weights in, in eval mode."""
    if not doc.get("arch"):
        return None
    from lfkit.models import create_model

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
            net.load_state_dict(_tensors(state))
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
