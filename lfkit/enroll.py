"""Siamese scoring: clips against enrolled identities, and pairs of clips.

Inputs are read, resampled, chunked and transformed by :mod:`lfkit.scoring`'s
helpers (the same views and chunking as ``lfkit score``); the network only
embeds. Similarities follow :func:`lfkit.inference.heads.similarity` (higher = more
alike) and the decision is ``score >= threshold`` (the model's validation
equal-error point unless ``--threshold`` is given).

References (``--enroll REFS``) are a labelled dataset folder (or its
``labels.csv``), whose labels are the identities, or an ``lfkit embed``
output: ``emb.npy`` of shape (N, D) with ``emb.csv`` beside it (a ``label``
column), so a large library is embedded once and reused.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lfkit import io
from lfkit.errors import DataError, LfkitError, ParameterError

__all__ = ["load_references", "identities", "embed_clips", "score_enroll", "score_pairs", "UNKNOWN"]

#: The ``match`` of a clip no enrolled identity is within the threshold of (open set).
UNKNOWN = "unknown"


def _siamese_scorer(models, device):
    from lfkit.inference.scorers import load_scorers

    models = list(models)
    if len(models) != 1:
        raise ParameterError(f"model: --enroll and --pairs take one siamese model, got {len(models)}")
    s = load_scorers(models, device)[0]
    if s.regime != "siamese":
        raise ParameterError(f"model {s.name} is a {s.regime} model; --enroll and --pairs need a siamese model "
                             "(lfkit train-siamese)")
    return s


def _plan(scorer, chunk_s, chunk_hop_s, strict, channel=None):
    """The :class:`~lfkit.segments.ReadPlan` of a siamese scorer's inputs."""
    from lfkit.segments import ReadPlan

    if chunk_s is not None and not chunk_s > 0:
        raise ParameterError(f"chunk={chunk_s!r} must be a positive number of seconds")
    return ReadPlan(scorer.sr, chunk_s, chunk_hop_s, scorer.n_samples, strict, channel)


def embed_clips(scorer, clips, plan, workers: int = 1, report=None, notice=None, progress=None):
    """Embed clips (and the chunks of long ones).

    Returns
    -------
    done : list of (clip, starts, ends, E)
        ``E`` shape (n_chunks, D); ``starts``/``ends`` in seconds, or None for a whole clip.
    bad : list of (clip, str)
        Clips that could not be read or embedded, with the reason.
    """
    from lfkit.parallel import net_batches
    from lfkit.segments import model_views, blocks_or_raise, prepare_in_workers, read_segments

    if workers < 1:
        raise ParameterError(f"workers={workers} must be a positive integer")
    views = model_views([scorer])
    files = [c for c in clips if c["_file"] != io.STDIO]
    results = {}
    for n, (c, res) in enumerate(zip(files, prepare_in_workers(files, views, plan, workers)), 1):
        results[id(c)] = res
        if progress:
            progress(n, len(clips))
    done, bad = [], []
    for clip in clips:
        try:
            res = results.pop(id(clip)) if id(clip) in results else read_segments(clip, views, plan)
            blocks = blocks_or_raise(res, notice)
            parts, starts, ends = [], [], []
            for s0, e0, arrays in blocks:
                X = arrays[scorer.view]
                scorer.check_input(X, clip["path"])
                X = scorer.fit_input(X)  # too short for the network: tiled up to its minimum
                parts.append(net_batches(scorer.embed_batch, X))
                starts.append(s0)
                ends.append(e0)
            chunked = starts[0] is not None
            if not all(np.isfinite(e).all() for e in parts):
                raise DataError(f"{clip['path']}: the embedding holds NaN or Inf (sample values too large?)")
            done.append((clip, np.concatenate(starts) if chunked else None, np.concatenate(ends) if chunked else None,
                         np.concatenate(parts)))
        except LfkitError as exc:
            bad.append((clip, str(exc)))
            if report:
                report(str(exc))
    return done, bad


def _embedding_table(path, dim: int):
    """Read ``lfkit embed`` output: (N, D) ``.npy`` and its CSV (with ``label``)."""
    p = Path(path)
    E = io.read_npy(p)
    if E.ndim != 2:
        raise DataError(f"{path}: expected embeddings of shape (N, D), got {E.shape}")
    if dim and E.shape[1] != dim:
        raise DataError(f"{path}: embeddings have dimension {E.shape[1]} but the model's is {dim} "
                        "(made with another model? embed the references with this one)")
    if not np.isfinite(E).all():
        raise DataError(f"{path}: embeddings hold NaN or Inf")
    side = next((c for c in (p.with_suffix(".csv"), Path(f"{p}.csv")) if c.exists()), None)
    if side is None:
        raise DataError(f"{path}: no {p.with_suffix('.csv').name} beside it (the labels of the embeddings)")
    rows, _ = io.read_csv_rows(side)
    if len(rows) != len(E):
        raise DataError(f"{side}: {len(rows)} rows for {len(E)} embeddings in {path}")
    if rows and "label" not in rows[0]:
        raise DataError(f"{side}: no 'label' column; enrollment needs labelled references")
    return E.astype(np.float32), [r["label"] for r in rows]


def load_references(scorer, refs, plan, workers: int = 1, notice=None):
    """Embeddings and identities of the enrolled references.

    Parameters
    ----------
    scorer : SiameseScorer
    refs : str
        Labelled dataset folder, its ``labels.csv``, or an ``lfkit embed`` ``.npy``.

    Returns
    -------
    E : np.ndarray, shape (N, D), float32
    labels : list of str, length N

    Raises
    ------
    DataError
        No labels, empty labels, unreadable references, or embeddings of another dimension.
    """
    p = Path(str(refs))
    if p.suffix == ".npy":
        E, labels = _embedding_table(p, scorer.embedding_dim)
        if scorer.normalize:
            from lfkit.inference.heads import unit_rows

            E = unit_rows(E)
    else:
        if not p.exists():
            raise DataError(f"enroll={str(refs)!r}: no such file or directory")
        if p.is_dir() and not (p / "labels.csv").exists():
            raise DataError(f"enroll={str(refs)!r}: folder has no labels.csv; enrollment needs labelled references "
                            "(a dataset folder, its labels.csv, or lfkit embed output .npy)")
        if not p.is_dir() and p.suffix != ".csv":
            raise DataError(f"enroll={str(refs)!r}: give a dataset folder, a labels.csv or an embeddings .npy")
        rows, _ = io.read_labels(p)
        done, bad = embed_clips(scorer, [io.Clip(r) for r in rows], plan, workers, notice=notice)
        if bad:
            more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
            raise DataError(f"enroll: identity {bad[0][0].get('label')!r}: reference {bad[0][1]}{more}")
        E = np.concatenate([d[3] for d in done])
        labels = [d[0]["label"] for d in done for _ in range(len(d[3]))]
    empty = sum(1 for lab in labels if not str(lab).strip())
    if empty:
        raise DataError(f"enroll={str(refs)!r}: {empty} reference(s) have an empty label")
    return E, [str(lab) for lab in labels]


def identities(E, labels, method: str = "centroid"):
    """Group reference embeddings by identity: ``(names, groups)``, groups a list of (n_i, D) arrays.

    ``centroid`` reduces each group to its mean embedding (re-normalised by the caller if needed).
    """
    if method not in ("centroid", "nearest"):
        raise ParameterError(f"method={method!r} is not known; choose one of: centroid, nearest")
    names = sorted(set(labels))
    lab = np.asarray(labels)
    groups = [E[lab == n] for n in names]
    if method == "centroid":
        groups = [g.mean(axis=0, keepdims=True) for g in groups]
    return names, groups


def identity_scores(E, groups, normalize: bool) -> np.ndarray:
    """Similarity of each embedding (M, D) to each identity: (M, K), the best over an identity's references."""
    from lfkit.inference.heads import similarity, unit_rows

    out = np.empty((len(E), len(groups)))
    for k, G in enumerate(groups):
        G = unit_rows(G) if normalize and len(G) == 1 else G
        d = np.linalg.norm(E[:, None, :] - G[None, :, :], axis=2).min(axis=1)
        out[:, k] = similarity(d)
    return out


def score_enroll(models, enroll, inputs, output=None, threshold=None, chunk_s=None, chunk_hop_s=None, workers=1,
                 strict=False, device="cpu", report=None, notice=None, progress=None, method="centroid",
                 channel=None) -> int:
    """Identify clips among enrolled identities (open set); write one record per clip (or chunk).

    Each record: ``path``, ``model``, ``match`` (the most similar identity,
    or ``unknown`` when its score is below the threshold), ``score`` (the
    similarity to it), ``scores`` (every identity's), ``threshold``,
    ``decision`` (``score >= threshold``) and the input's label columns. A
    long file without ``chunk_s`` is scored in chunks of the training length
    and keeps its best chunk (``best_start``). ``method``: compare with each
    identity's ``centroid`` (mean embedding) or its ``nearest`` reference.

    Returns
    -------
    int
        Number of inputs that could not be scored.
    """
    if not inputs:
        raise ParameterError("inputs: give the clips to identify after --enroll REFS")
    scorer = _siamese_scorer(models, device)
    plan = _plan(scorer, chunk_s, chunk_hop_s, strict, channel)
    refs, ref_labels = load_references(scorer, enroll, plan, workers, notice)
    names, groups = identities(refs, ref_labels, method)
    single = [n for n in names if ref_labels.count(n) == 1]
    if single and notice:
        notice(f"enroll: {len(single)} of {len(names)} identities have one reference clip ({single[0]!r}"
               f"{', ...' if len(single) > 1 else ''}): the threshold was calibrated on centroids of several "
               "clips, so decisions against these are approximate")
    if threshold is None:
        threshold = scorer.threshold
    clips = io.find_inputs(inputs)
    done, bad = embed_clips(scorer, clips, plan, workers, report, notice, progress)
    from lfkit.records import add_metadata, best_chunk, clip_metadata, decide, error_record, make_record

    failed = {id(c): msg for c, msg in bad}
    embedded = {id(c): (starts, ends, E) for c, starts, ends, E in done}
    records = []
    for clip in clips:
        if id(clip) in failed:
            records.append(error_record(clip, scorer.name, failed[id(clip)]))
            continue
        starts, ends, E = embedded[id(clip)]
        S = identity_scores(E, groups, scorer.normalize)
        recs = []
        for i in range(len(E)):
            j = int(np.argmax(S[i]))
            recs.append(make_record(clip, scorer.name, match=names[j], score=float(S[i, j]),
                                    scores={n: float(v) for n, v in zip(names, S[i])},
                                    start=None if starts is None else starts[i], end=None if ends is None else ends[i]))
        if chunk_s is None:
            recs = best_chunk(recs)
        for rec in recs:
            if threshold is not None:
                decide(rec, float(threshold))
                if not rec["decision"]:
                    rec["match"] = UNKNOWN
            records.append(add_metadata(rec, clip_metadata(clip)))
    if not done and bad:
        raise DataError(f"none of the {len(clips)} input(s) could be scored")
    io.write_jsonl(records, output)
    return len(bad)


def score_pairs(models, pairs, output=None, threshold=None, chunk_s=None, chunk_hop_s=None, workers=1,
                strict=False, device="cpu", report=None, notice=None, progress=None, channel=None) -> int:
    """Verify pairs of clips; write one record per pair of ``pairs`` (a CSV with columns ``a,b``).

    Each record: ``a``, ``b`` (paths), ``model``, ``score`` (similarity),
    ``threshold``, ``decision`` and the CSV's other columns (``same``...). A
    clip cut into chunks is represented by its mean chunk embedding. A pair
    naming a missing or unreadable file is reported and skipped.

    Returns
    -------
    int
        Number of pairs that could not be scored.
    """
    from lfkit.inference.heads import similarity, unit_rows
    from lfkit.records import decide
    from lfkit.siamese import read_pairs

    scorer = _siamese_scorer(models, device)
    plan = _plan(scorer, chunk_s, chunk_hop_s, strict, channel)
    rows, _ = read_pairs(pairs)
    if threshold is None:
        threshold = scorer.threshold
    files = sorted({f for r in rows for f in (r["_a"], r["_b"]) if Path(f).is_file()})
    done, failed = embed_clips(scorer, [io.Clip(path=f, _file=f) for f in files], plan, workers,
                               notice=notice, progress=progress)
    emb = {}
    for clip, _, _, E in done:
        e = E.mean(axis=0)
        emb[clip["_file"]] = unit_rows(e) if scorer.normalize else e
    why = {c["_file"]: msg for c, msg in failed}
    records, n_bad = [], 0
    for line, r in enumerate(rows, 2):
        missing = [(col, r[col]) for col in ("a", "b") if r[f"_{col}"] not in emb]
        if missing:
            n_bad += 1
            col, name = missing[0]
            reason = why.get(r[f"_{col}"], "no such file")
            if report:
                report(f"{pairs}: line {line}: {col}={name!r}: {reason}")
            continue
        s = float(similarity(np.linalg.norm(emb[r["_a"]] - emb[r["_b"]])))
        rec = {"a": r["_a"], "b": r["_b"], "model": scorer.name, "score": s}
        decide(rec, None if threshold is None else float(threshold))
        rec.update({k: v for k, v in r.items() if not k.startswith("_") and k not in ("a", "b")})
        records.append(rec)
    if not records:
        raise DataError(f"none of the {len(rows)} pair(s) could be scored")
    io.write_jsonl(records, output)
    return n_bad
