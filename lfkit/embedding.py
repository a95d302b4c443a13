"""``lfkit embed``: a model's embeddings of clips (or chunks), for use in other tools.

Every model lfkit writes has an embedding: a binary network's penultimate
layer, a one-class model's extractor output, a siamese network's embedding.
Inputs are read and chunked exactly as ``lfkit score`` does (:mod:`lfkit.segments`) (a long file
is cut into chunks of the training length), and every row of the (N, D)
array has a row in the CSV beside it: ``row``, ``path``, ``start``, ``end``
and the input's label columns.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lfkit import io
from lfkit.errors import DataError, LfkitError, ParameterError

__all__ = ["embed", "embed_clips", "csv_path_for"]


def csv_path_for(output) -> str:
    """The CSV written beside an NPY output: ``emb.npy`` -> ``emb.csv``."""
    return str(Path(output).with_suffix(".csv"))


def embed_clips(scorer, clips, chunk_s=None, chunk_hop_s=None, strict: bool = False, report=None, notice=None,
                batch_size: int = 256):
    """Embeddings of ``clips`` (from :func:`lfkit.io.find_inputs`) with one scorer.

    Returns
    -------
    E : np.ndarray, shape (N, D), float32
    rows : list of dict
        One per row of ``E``: ``row``, ``path``, ``start``, ``end`` and the clip's metadata.
    n_bad : int
        Clips that could not be read (reported, skipped).
    """
    from lfkit.segments import _views, blocks_or_raise, segments_of

    views = _views([scorer])
    plan = (scorer.sr, chunk_s, chunk_hop_s, scorer.n_samples, strict)
    parts, rows, n_bad = [], [], 0
    for clip in clips:
        try:
            blocks = blocks_or_raise(segments_of(clip, views, plan), notice)
            meta = {k: v for k, v in clip.items() if not k.startswith("_") and k != "path"}
            for starts, ends, arrays in blocks:
                X = arrays[scorer.view]
                scorer.check_input(X, clip["path"])
                for i in range(0, len(X), batch_size):
                    parts.append(np.asarray(scorer.embed_batch(X[i : i + batch_size]), dtype=np.float32))
                for i in range(len(X)):
                    row = {"row": len(rows), "path": clip["_file"] if clip["_file"] != io.STDIO else "-",
                           "start": "" if starts is None else round(float(starts[i]), 6),
                           "end": "" if ends is None else round(float(ends[i]), 6)}
                    row.update({k: v for k, v in meta.items() if k not in row})
                    rows.append(row)
        except LfkitError as exc:
            n_bad += 1
            if report:
                report(str(exc))
    E = np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)
    return E, rows, n_bad


def embed(model_path, inputs, output=None, chunk_s=None, chunk_hop_s=None, strict: bool = False,
          device: str = "cpu", report=None, notice=None) -> int:
    """The whole of ``lfkit embed``: write (N, D) float32 NPY and a CSV beside it.

    Parameters
    ----------
    model_path : str
        Any lfkit model file (binary, one-class, siamese).
    inputs : sequence of str
        Audio files, folders, datasets, ``labels.csv``, ``.npy`` spectrograms or ``-``.
    output : str or None
        NPY path; its CSV is :func:`csv_path_for`. None (or ``-``) writes the
        NPY to standard output, without a CSV, and is allowed for one input only.

    Returns
    -------
    int
        Number of inputs that could not be embedded.
    """
    from lfkit.scoring import load_scorers

    if not inputs:
        raise ParameterError("inputs: give audio files, folders, a labels.csv, .npy spectrograms or '-'")
    if chunk_s is not None and not chunk_s > 0:
        raise ParameterError(f"chunk={chunk_s!r} must be a positive number of seconds")
    to_stdout = output in (None, io.STDIO)
    if to_stdout and output is None and (len(inputs) > 1 or Path(str(inputs[0])).is_dir()):
        raise ParameterError("output: several inputs give an array and a CSV; name them with -o emb.npy")
    scorer = load_scorers([model_path], device)[0]
    clips = io.find_inputs(inputs)
    if to_stdout and output is None and len(clips) > 1:
        raise ParameterError("output: several inputs give an array and a CSV; name them with -o emb.npy")
    E, rows, n_bad = embed_clips(scorer, clips, chunk_s, chunk_hop_s, strict, report, notice)
    if not rows:
        raise DataError(f"none of the {len(clips)} input(s) could be embedded")
    io.write_npy(E, None if to_stdout else output)
    if not to_stdout:
        io.write_csv(rows, csv_path_for(output))
    return n_bad
