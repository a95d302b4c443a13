"""ONNX export: agreement and speed of the exported graph against lfkit's own scoring.

Trains a small Spec-CNN (train-binary defaults but few epochs) on synthetic
clips, exports it, and scores the same clips three ways: ``lfkit.scoring.score``
(files to records), lfkit in memory (``spectrogram_batch`` + the scorer) and
onnxruntime on the waveforms (front end inside the graph). Prints one JSON line.

    python benchmarks/bench_export.py [--n 400] [--threads 1] [--arch speccnn]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=400, help="test clips (0.5 s, 44.1 kHz)")
    ap.add_argument("--threads", type=int, default=1, help="torch and onnxruntime intra-op threads")
    ap.add_argument("--arch", default="speccnn")
    a = ap.parse_args()

    import onnxruntime as ort
    import torch

    from lfkit import features, io
    from lfkit.config import SynthConfig, TrainConfig
    from lfkit.export import export_model
    from lfkit.inference import load_model
    from lfkit.inference import make_scorer
    from lfkit.scoring import score
    from lfkit.synth import synthesize
    from lfkit.train import train_binary

    torch.set_num_threads(a.threads)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        synthesize(str(root / "train"), SynthConfig(duration_s=0.5), snr="-10", seed=0, positive="120,340,777", n=48)
        synthesize(str(root / "test"), SynthConfig(duration_s=0.5), snr="-10", seed=1, positive="120,340,777", n=a.n)
        train_binary(str(root / "train"), str(root / "m.pt"), "positive", TrainConfig(arch=a.arch, epochs=2, batch_size=8))
        t0 = time.perf_counter()
        export_model(root / "m.pt", root / "m.onnx")
        t_export = time.perf_counter() - t0

        t0 = time.perf_counter()
        score([str(root / "m.pt")], [str(root / "test")], str(root / "s.jsonl"))
        t_score = time.perf_counter() - t0
        recs = io.read_jsonl(root / "s.jsonl")
        ref = np.array([r["score"] for r in recs])
        Y = np.stack([io.read_audio(str(root / "test" / r["path"]))[0] for r in recs]).astype(np.float32)

        doc = load_model(root / "m.pt")
        sc = make_scorer(doc)
        t0 = time.perf_counter()
        mem = np.concatenate([[r["score"] for r in sc.score_batch(features.spectrogram_batch(Y[i:i + 64], 44100,
                              doc["frontend"]))] for i in range(0, len(Y), 64)])
        t_mem = time.perf_counter() - t0

        so = ort.SessionOptions()
        so.intra_op_num_threads = a.threads
        sess = ort.InferenceSession(str(root / "m.onnx"), so, providers=["CPUExecutionProvider"])
        t0 = time.perf_counter()
        got = np.concatenate([sess.run(["score"], {"waveform": Y[i:i + 64]})[0] for i in range(0, len(Y), 64)])
        t_ort = time.perf_counter() - t0
        print(json.dumps({
            "arch": a.arch, "n_clips": len(Y), "threads": a.threads, "onnx_bytes": (root / "m.onnx").stat().st_size,
            "export_s": round(t_export, 2),
            "max_abs_diff_vs_score": float(np.abs(got - ref).max()),
            "max_abs_diff_vs_memory": float(np.abs(got - mem).max()),
            "clips_per_s": {"lfkit_score_files": round(len(Y) / t_score, 1), "lfkit_in_memory": round(len(Y) / t_mem, 1),
                            "onnxruntime": round(len(Y) / t_ort, 1)},
        }))


if __name__ == "__main__":
    main()
