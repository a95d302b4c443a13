"""``lfkit clips``: long recordings plus their selection tables -> a labelled dataset folder.

Each annotation (a Raven selection or an Audacity label, see
:mod:`lfkit.selections`) becomes one clip centred on it; negative clips are
drawn, seeded, from time no annotation touches. The folder has the layout
``lfkit synth`` writes (WAVs, ``labels.csv``, manifest; built atomically by
:func:`lfkit.io.write_dataset`), so ``train-binary``, ``train-oneclass`` and
``train-siamese`` take it as it is. ``labels.csv`` has ``path``, ``label``,
``source`` (the recording), ``clip_start_s`` / ``clip_end_s`` (where the clip
was cut), ``clip_channel`` (the channel cut, 0-based; empty: the mean of the
channels), and the annotation's own columns.

Channels: ``channel`` (``--channel``) cuts every clip from that channel.
Without it, an annotation of a Raven table with a ``Channel`` column (1-based)
is cut from its own channel, and each negative from one of the channels its
recording's annotations name (drawn, seeded); everything else is the mean of
the channels.

Every table, recording and time is checked before anything is written.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lfkit import io
from lfkit.errors import DataError, ParameterError, check_number
from lfkit.selections import read_selections

__all__ = ["make_clips", "pair_inputs"]


#: What a folder given as input contributes: recordings and selection tables (Raven ``.txt``, Audacity labels).
TABLE_EXTENSIONS = (".txt", ".tsv", ".csv")


def _expand(inputs) -> list[str]:
    """Inputs with each folder replaced by the recordings and tables under it (sorted, hidden ones skipped)."""
    from lfkit.reading import walk_files

    out = []
    for p in map(str, inputs):
        if Path(p).is_dir():
            found = walk_files(p, io.AUDIO_EXTENSIONS + TABLE_EXTENSIONS)
            if not found:
                raise DataError(f"{p}: holds no recordings or selection tables")
            out.extend(str(f) for f in found)
        else:
            out.append(p)
    return out


def pair_inputs(inputs) -> list[tuple[str, list[dict]]]:
    """Recordings and tables (any order) -> ``[(recording, annotations)]``.

    A table's annotations go to the recording it names (Raven ``Begin Path``
    or ``Begin File``, matched by path or file name, relative to the table's
    folder), else to the recording whose file stem starts the table's name
    (``rec.wav`` <- ``rec.Table.1.selections.txt``, ``rec.txt``).
    """
    inputs = _expand(inputs)
    recordings = [p for p in inputs if p.lower().endswith(io.AUDIO_EXTENSIONS)]
    tables = [p for p in inputs if p not in recordings]
    if not recordings or not tables:
        raise ParameterError("inputs: give long recordings (.wav, .flac, ...) and their selection tables "
                             f"(got {len(recordings)} recording(s), {len(tables)} table(s))")
    for p in inputs:
        if not Path(p).is_file():
            raise DataError(f"{p}: no such file")
    by_name = {}
    for r in recordings:
        by_name.setdefault(Path(r).name, r)
        by_name[str(Path(r).resolve())] = r
    out = {r: [] for r in recordings}
    for t in tables:
        rows = read_selections(t)
        stem_match = [r for r in recordings if Path(t).name.startswith(Path(r).stem + ".")]
        for row in rows:
            if row["_file"]:
                f = Path(row["_file"])
                cand = f if f.is_absolute() else Path(t).parent / f
                rec = by_name.get(str(cand.resolve())) or by_name.get(f.name)
                if rec is None:
                    raise DataError(f"{row['_where']}: names {row['_file']!r}, which is not among the recordings "
                                    f"given ({', '.join(Path(r).name for r in recordings)})")
            elif len(stem_match) == 1:
                rec = stem_match[0]
            elif len(recordings) == 1:
                rec = recordings[0]
            else:
                raise DataError(f"{t}: cannot tell which recording it annotates: name it after one "
                                "(rec.wav <- rec.Table.1.selections.txt) or give 'Begin File'")
            out[rec].append(row)
    return [(r, rows) for r, rows in out.items()]


def _free_starts(duration_s, spans, clip_s):
    """Intervals ``[a, b]`` of clip starts whose clip touches no annotation span."""
    free, t = [], 0.0
    for b, e in sorted(spans):
        if b - t >= clip_s:
            free.append((t, b - clip_s))
        t = max(t, e)
    if duration_s - t >= clip_s:
        free.append((t, duration_s - clip_s))
    return free


def make_clips(inputs, output, clip_s: float | None = None, n_negative: int | None = None, seed: int = 0,
               label: str = "positive", label_column: str | None = None, negative_label: str = "negative",
               channel: int | None = None) -> dict:
    """Cut annotated clips and negatives from long recordings into a dataset folder.

    Parameters
    ----------
    inputs : sequence of str
        Recordings and their Raven tables / Audacity label files (see :func:`pair_inputs`).
    output : str
        The dataset folder (must not exist, or be an lfkit folder; written atomically).
    clip_s : float or None
        Clip length in seconds, centred on each annotation (default: the longest annotation).
    n_negative : int or None
        Negative clips, drawn from unannotated time (default: as many as annotations; 0 for none).
    seed : int
        Seed of the negatives' positions: same seed, same clips.
    label : str
        Label of the annotated clips...
    label_column : str or None
        ...or the table column that holds each one's label (Raven ``Annotation``; Audacity's text is ``annotation``).
    negative_label : str
    channel : int or None
        Channel of multichannel recordings to cut (0-based), for every clip; None: each annotation's own
        (a Raven ``Channel`` column), else the mean of the channels.

    Returns
    -------
    dict
        ``n_positive``, ``n_negative``, ``clip_s``, ``sr``.
    """
    if clip_s is not None:
        check_number("clip", clip_s, 0, lo_open=True, unit=" s")
    if n_negative is not None and (isinstance(n_negative, bool) or not isinstance(n_negative, int) or n_negative < 0):
        raise ParameterError(f"n_negative={n_negative!r} must be a whole number >= 0")
    if channel is not None and (isinstance(channel, bool) or not isinstance(channel, int) or channel < 0):
        raise ParameterError(f"channel={channel!r} must be a whole number >= 0")
    pairs = pair_inputs(inputs)
    info, srs = {}, set()
    for rec, rows in pairs:
        n, sr, n_channels = io.audio_info(rec)
        if channel is not None and channel >= n_channels:
            raise ParameterError(f"channel={channel} is out of range: {rec} has {n_channels} channel(s)")
        info[rec] = (n, sr)
        srs.add(sr)
        dur = n / sr
        for row in rows:
            own = row.get("_channel")
            if channel is None and own is not None and own >= n_channels:
                raise DataError(f"{row['_where']}: Channel {own + 1} is out of range: {rec} has {n_channels} "
                                "channel(s)")
            if row["_end"] > dur + 0.5 / sr:
                raise DataError(f"{row['_where']}: ends at {row['_end']:g} s, past the end of {rec} ({dur:g} s)")
            if label_column and label_column not in row:
                raise DataError(f"{row['_where']}: no {label_column!r} column for the label")
    if len(srs) > 1:
        raise DataError(f"recordings have different sample rates ({', '.join(map(str, sorted(srs)))} Hz); "
                        "resample them to one first")
    annotations = [(rec, row) for rec, rows in pairs for row in rows]
    if not annotations:
        raise DataError("the tables hold no annotation")
    if clip_s is None:
        clip_s = max(row["_end"] - row["_begin"] for _, row in annotations)
    sr = srs.pop()
    n_clip = int(round(clip_s * sr))
    for rec, (n, _) in info.items():
        if n < n_clip:
            raise DataError(f"{rec}: {n / sr:g} s long, shorter than clip_s={clip_s:g} s")
    negatives = _draw_negatives(pairs, info, clip_s, len(annotations) if n_negative is None else n_negative, seed)
    negative_channels = _negative_channels(pairs, negatives, channel, seed)
    columns = [k for _, row in annotations for k in row if not k.startswith("_")]
    columns = list(dict.fromkeys(columns))

    def items():
        k = 0
        for rec, row in annotations:
            n = info[rec][0]
            centre = (row["_begin"] + row["_end"]) / 2
            start = int(min(max(round(centre * sr) - n_clip // 2, 0), n - n_clip))
            lab = str(row[label_column]) if label_column else label
            ch = channel if channel is not None else row.get("_channel")
            yield _row(k, lab, rec, start, n_clip, sr, ch, {c: row.get(c, "") for c in columns}), _read_span(
                rec, start, n_clip, ch)
            k += 1
        for (rec, start), ch in zip(negatives, negative_channels):
            yield _row(k, negative_label, rec, start, n_clip, sr, ch, {c: "" for c in columns}), _read_span(
                rec, start, n_clip, ch)
            k += 1

    io.write_dataset(output, items(), sr, command="clips")
    return {"n_positive": len(annotations), "n_negative": len(negatives), "clip_s": clip_s, "sr": sr}


def _row(k, label, rec, start, n_clip, sr, channel, meta) -> dict:
    row = {"path": f"c{k:05d}.wav", "label": label, "source": str(Path(rec).resolve()),
           "clip_start_s": f"{start / sr:.6f}", "clip_end_s": f"{(start + n_clip) / sr:.6f}",
           "clip_channel": "" if channel is None else str(channel)}
    row.update({c: v for c, v in meta.items() if c not in row})
    return row


def _draw_negatives(pairs, info, clip_s, n, seed):
    """``n`` seeded ``(recording, start sample)`` of clips touching no annotation, uniform over the free time."""
    if n == 0:
        return []
    free = []
    for rec, rows in pairs:
        samples, sr = info[rec]
        for a, b in _free_starts(samples / sr, [(r["_begin"], r["_end"]) for r in rows], clip_s):
            free.append((rec, sr, a, b))
    widths = np.array([b - a for _, _, a, b in free], dtype=float)
    if not free:
        raise DataError(f"no {clip_s:g} s stretch of the recordings is free of annotations: "
                        "no negatives can be drawn (give n_negative=0, or a shorter clip)")
    rng = np.random.default_rng(seed)
    p = (widths + 1e-9) / (widths + 1e-9).sum()
    out = []
    for i in rng.choice(len(free), size=n, p=p):
        rec, sr, a, b = free[i]
        lo, hi = int(np.ceil(a * sr)), int(np.floor(b * sr))  # whole samples inside the free stretch
        out.append((rec, int(rng.integers(lo, hi + 1)) if hi > lo else lo))
    return out


def _negative_channels(pairs, negatives, channel, seed) -> list:
    """The channel each negative is cut from: ``channel``; else one its recording's annotations name (seeded,
    uniform over them; a generator of its own, so the negatives' times do not depend on it); else None (the mean)."""
    if channel is not None:
        return [channel] * len(negatives)
    named = {rec: sorted({r["_channel"] for r in rows if r.get("_channel") is not None}) for rec, rows in pairs}
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0xC4A]))
    return [int(named[rec][rng.integers(len(named[rec]))]) if named.get(rec) else None for rec, _ in negatives]


def _read_span(path, start: int, n: int, channel: int | None = None) -> np.ndarray:
    """``n`` samples of ``path`` from sample ``start``, mono float32 (only that part is decoded)."""
    return io.read_audio_span(path, start, n, channel)
