"""Detections in long recordings: windows filtered by score, and runs of windows merged into events.

``lfkit score --chunk W --chunk-hop H`` gives one record per window.
:func:`keep_min_score` keeps the windows scoring at least ``min_score``;
:class:`EventMerger` turns the windows of one file at or above the
threshold into events, one file at a time (nothing is held beyond the
file's windows), and :func:`merge_windows` does it for a list.

An event's ``start`` / ``end`` estimate where the target begins and ends:
the centre of its first window minus half a hop, and the centre of its
last window plus half a hop (clipped to the windows). A window fires when
the target fills some fraction ``f`` of it; its centre is then within
``(f - 1/2) W`` of the target's edge, so the estimate is within half a window
of the truth whatever the SNR (the windows' own span would be up to a whole
window early at high SNR). ``windows_start`` / ``windows_end`` give the span
of the merged windows themselves.
"""

from __future__ import annotations

from lfkit.errors import ParameterError, check_number
from lfkit.records import add_metadata, decide

__all__ = ["keep_min_score", "merge_windows", "EventMerger", "event_band", "post_processor"]

#: Keys of a window record that an event does not carry over (it has its own).
_WINDOW_KEYS = {"start", "end", "score", "probability", "decision", "n_chunks", "best_start", "best_end"}


def keep_min_score(records, min_score):
    """The records scoring at least ``min_score`` (all when None); error records are kept."""
    if min_score is None:
        return list(records)
    return [r for r in records if "score" not in r or r["score"] >= min_score]


def event_band(scorers):
    """``(low, high)`` Hz of detections: the model's target tones when known, else its front end's band.

    Tones (a ``knowntone`` model's) give their span widened by one frequency
    bin either side; otherwise the front end's ``fmin`` .. ``fmax`` (Nyquist
    when ``fmax`` is None). None when neither is known.
    """
    s = scorers[0]
    tones = getattr(s, "tones", None)
    fe = s.frontend or {}
    fe = fe if isinstance(fe, dict) else vars(fe)
    sr = s.sr
    if tones is not None and len(tones):
        df = sr / fe["n_fft"] if sr and fe.get("n_fft") else 0.0
        return max(0.0, float(min(tones)) - df), float(max(tones)) + df
    if fe.get("fmin") is None and fe.get("fmax") is None:
        return None
    fmax = fe.get("fmax")
    if fmax is None:
        if not sr:
            return None
        fmax = sr / 2
    return float(fe.get("fmin") or 0.0), float(fmax)


class EventMerger:
    """Merge one file's window records at or above ``threshold`` into event records.

    Parameters
    ----------
    threshold : float
        A window is part of an event when ``score >= threshold``.
    gap_s : float
        Runs of windows separated by windows below the threshold are joined
        when the gap between them (seconds, from one run's last window end to
        the next run's first window start) is at most ``gap_s``. 0: only
        consecutive windows merge.
    band : (float, float) or None
        ``low_freq_hz`` / ``high_freq_hz`` of every event (see :func:`event_band`).

    Notes
    -----
    Feed :meth:`file` the window records of one file (in time order); it
    returns that file's events. Records without ``start`` (a whole clip) are
    one window each. Error records pass through unchanged.
    """

    def __init__(self, threshold, gap_s: float = 0.0, band=None):
        if threshold is None:
            raise ParameterError("detections need a threshold: give --threshold (the model has none)")
        check_number("threshold", threshold)
        check_number("gap_s", gap_s, 0)
        self.threshold, self.gap_s, self.band = float(threshold), float(gap_s), band

    def file(self, records) -> list:
        """Events (and error records) of one file's window records."""
        out, runs, run = [], [], []
        for r in records:
            if "score" not in r:
                out.append(r)
                continue
            if r["score"] >= self.threshold:
                run.append(r)
            elif run:
                runs.append(run)
                run = []

        if run:
            runs.append(run)
        merged = []
        for run in runs:
            if merged and self.gap_s > 0 and run[0].get("start", 0.0) - merged[-1][-1].get("end", 0.0) <= self.gap_s:
                merged[-1].extend(run)
            else:
                merged.append(list(run))
        hop = _hop(records)
        return out + [self._event(run, hop) for run in merged]

    def _event(self, run, hop) -> dict:
        first, final = run[0], run[-1]
        peak = max(run, key=lambda r: r["score"])
        ev = {"path": first["path"], "model": first.get("model")}
        if "start" in first:
            c0 = (first["start"] + first["end"]) / 2
            c1 = (final["start"] + final["end"]) / 2
            ev["start"] = round(max(first["start"], c0 - hop / 2), 6)
            ev["end"] = round(min(final["end"], c1 + hop / 2), 6)
        if self.band is not None:
            ev["low_freq_hz"], ev["high_freq_hz"] = float(self.band[0]), float(self.band[1])
        ev["score"] = peak["score"]
        if "probability" in peak:
            ev["probability"] = peak["probability"]
        if "start" in first:
            ev["peak_time"] = round((peak["start"] + peak["end"]) / 2, 6)
            ev["windows_start"], ev["windows_end"] = first["start"], final["end"]
        ev["n_windows"] = len(run)
        decide(ev, self.threshold)  # True: the peak is at or above it
        return add_metadata(ev, {k: v for k, v in first.items() if k not in _WINDOW_KEYS})


def _hop(records) -> float:
    """The hop between a file's windows in seconds (0 for a single window)."""
    starts = [r["start"] for r in records if "start" in r]
    return min((b - a for a, b in zip(starts, starts[1:]) if b > a), default=0.0)


def merge_windows(records, threshold, gap_s: float = 0.0, band=None) -> list:
    """Events of window records (several files, each file's windows together and in time order).

    Returns
    -------
    list of dict
        Per event: ``path``, ``model``, ``start``, ``end`` (s), ``low_freq_hz``,
        ``high_freq_hz`` (with ``band``), ``score`` (the peak), ``peak_time``,
        ``windows_start``, ``windows_end``, ``n_windows``, ``threshold``,
        ``decision`` and the windows' other keys (metadata).
    """
    merger = EventMerger(threshold, gap_s, band)
    out, group = [], []
    for r in records:
        if group and r["path"] != group[0]["path"]:
            out += merger.file(group)
            group = []
        group.append(r)
    if group:
        out += merger.file(group)
    return out


def post_processor(scorers, threshold, fmt, min_score, detections, gap_s):
    """What happens to one input's records before they are written: events, then the ``min_score`` filter.

    Returns a callable(records) -> records with attribute ``band`` (for the writer).
    """
    if min_score is not None:
        check_number("min_score", min_score)
    band = event_band(scorers) if detections or fmt in ("raven", "audacity") else None
    merger = EventMerger(threshold, gap_s, band) if detections else None

    def post(recs):
        if merger is not None:
            recs = merger.file(recs)
        return keep_min_score(recs, min_score) if min_score is not None else recs

    post.band = band
    return post
