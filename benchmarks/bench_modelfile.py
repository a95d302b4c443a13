"""Model file formats compared: size and load time of a Spec-CNN and a logreg model.

    python benchmarks/bench_modelfile.py [--repeats 20]

Three layouts of the same model dictionary, each read from bytes in memory:

* ``npz``: lfkit's format 2 (:mod:`lfkit.inference.modelfile`): a zip of
  ``.npy`` members, JSON header, read with ``np.load(allow_pickle=False)``;
* ``torch``: format 1, ``torch.save`` of the dictionary, read with
  ``torch.load(weights_only=True)`` (torch already imported: its import is
  timed apart, in a fresh interpreter);
* ``safetensors``: the safetensors layout (8-byte little-endian header
  length, JSON header with dtype/shape/offsets, raw buffers), written and
  read with numpy (safetensors itself is not an lfkit dependency).

Load = bytes -> dictionary with arrays (no network built). Median of
``--repeats`` loads. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import struct
import subprocess
import sys
import time

import numpy as np


def _models():
    from lfkit.config import FrontendConfig
    from lfkit.models import create_model

    net = create_model("speccnn")
    rng = np.random.default_rng(0)
    common = {"frontend": FrontendConfig().to_dict(), "classes": ["negative", "positive"], "positive": "positive",
              "threshold": 0.5, "training": {"epochs_run": 10}}
    spec = dict(common, regime="binary", arch="speccnn", arch_kwargs=net.arch_kwargs,
                state_dict={k: v.detach().numpy().copy() for k, v in net.state_dict().items()},
                input={"kind": "spectrogram", "sr": 44100, "n_samples": 44100, "shape": [128, 40]}, extra={})
    F = 128
    logreg = dict(common, regime="baseline", arch=None, arch_kwargs={}, state_dict={},
                  input={"kind": "spectrogram", "sr": 44100, "n_samples": 44100, "shape": [F, 40]},
                  extra={"mean": rng.normal(size=F), "scale": rng.random(F) + 0.5, "coef": rng.normal(size=F),
                         "intercept": 0.1})
    return {"speccnn": spec, "logreg": logreg}


def _doc(fields):
    from lfkit import MODEL_FORMAT_VERSION, __version__

    return dict(fields, format="lfkit-model", format_version=MODEL_FORMAT_VERSION, lfkit_version=__version__)


def npz_bytes(doc) -> bytes:
    from lfkit.inference.modelfile import write_raw

    return write_raw(doc, None)


def npz_load(data: bytes):
    from lfkit.inference.modelfile import read_raw

    return read_raw("bench", data)


def torch_bytes(doc) -> bytes:
    import torch

    def conv(o):
        if isinstance(o, np.ndarray):
            return torch.from_numpy(o)
        if isinstance(o, dict):
            return {k: conv(v) for k, v in o.items()}
        return o

    buf = io.BytesIO()
    torch.save(conv(doc), buf)
    return buf.getvalue()


def torch_load(data: bytes):
    import torch

    return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)


def st_bytes(doc) -> bytes:
    arrays, off, meta = [], 0, {}

    def split(o, path):
        nonlocal off
        if isinstance(o, np.ndarray):
            a = np.ascontiguousarray(o)
            meta[path] = {"dtype": a.dtype.str, "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
            arrays.append(a)
            off += a.nbytes
            return {"__tensor__": path}
        if isinstance(o, dict):
            return {k: split(v, f"{path}/{k}") for k, v in o.items()}
        return o

    header = {"__metadata__": {"doc": json.dumps(split(doc, ""))}, **meta}
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + b"".join(a.tobytes() for a in arrays)


def st_load(data: bytes):
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    body = memoryview(data)[8 + n :]
    doc = json.loads(header.pop("__metadata__")["doc"])

    def join(o):
        if isinstance(o, dict):
            if set(o) == {"__tensor__"}:
                m = header[o["__tensor__"]]
                lo, hi = m["data_offsets"]
                return np.frombuffer(body[lo:hi], dtype=np.dtype(m["dtype"])).reshape(m["shape"])
            return {k: join(v) for k, v in o.items()}
        return o

    return join(doc)


def _median_ms(fn, data, repeats) -> float:
    fn(data)  # warm
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(data)
        times.append(time.perf_counter() - t0)
    return round(1000 * statistics.median(times), 3)


def _import_s(module: str) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    runs = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
            for _ in range(3)]
    return round(statistics.median(runs), 3)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args(argv)
    out = {"import_s": {"torch": _import_s("torch"), "numpy": _import_s("numpy")}}
    for name, fields in _models().items():
        doc = _doc(fields)
        row = {}
        for fmt, (write, read) in {"npz": (npz_bytes, npz_load), "torch": (torch_bytes, torch_load),
                                   "safetensors": (st_bytes, st_load)}.items():
            data = write(doc)
            row[fmt] = {"bytes": len(data), "load_ms": _median_ms(read, data, args.repeats)}
        out[name] = row
    print(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
