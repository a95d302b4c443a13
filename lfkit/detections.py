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

__all__ = ["keep_min_score", "merge_windows", "EventMerger", "FileEvents", "event_band", "post_processor"]

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
        events = self.stream()
        events.feed(records)
        return events.close()

    def stream(self) -> "FileEvents":
        """A :class:`FileEvents` for one file whose windows come in blocks (a long recording)."""
        return FileEvents(self)

    def _event(self, run, hop) -> dict:
        """One event of a run ``[first, final, peak, n_windows]`` (see :class:`FileEvents`)."""
        first, final, peak, n = run
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
        ev["n_windows"] = n
        decide(ev, self.threshold)  # True: the peak is at or above it
        return add_metadata(ev, {k: v for k, v in first.items() if k not in _WINDOW_KEYS})


class FileEvents:
    """One file's windows fed block by block (in time order); :meth:`close` returns its events.

    Holds only each run's first, last and peak window (and its length), so
    memory does not grow with the file; the events are those
    :meth:`EventMerger.file` gives for all the windows at once, byte for
    byte, including a run that spans two blocks.
    """

    def __init__(self, merger: EventMerger):
        self.m = merger
        self.errors, self.merged, self.run = [], [], None  # runs: [first, final, peak, n]
        self.last_start, self.hop = None, None

    def feed(self, records) -> None:
        thr = self.m.threshold
        for r in records:
            if "start" in r:
                if self.last_start is not None and r["start"] > self.last_start:
                    d = r["start"] - self.last_start
                    self.hop = d if self.hop is None else min(self.hop, d)
                self.last_start = r["start"]
            if "score" not in r:
                self.errors.append(r)
            elif r["score"] >= thr:
                run = self.run
                if run is None:
                    self.run = [r, r, r, 1]
                else:
                    run[1] = r
                    run[3] += 1
                    if r["score"] > run[2]["score"]:
                        run[2] = r
            elif self.run is not None:
                self._close_run()

    def _close_run(self) -> None:
        run, self.run = self.run, None
        last = self.merged[-1] if self.merged else None
        if last is not None and self.m.gap_s > 0 and run[0].get("start", 0.0) - last[1].get("end", 0.0) <= self.m.gap_s:
            last[1] = run[1]
            last[3] += run[3]
            if run[2]["score"] > last[2]["score"]:
                last[2] = run[2]
        else:
            self.merged.append(run)

    def close(self) -> list:
        """The file's error records, then its events (see :meth:`EventMerger.file`)."""
        if self.run is not None:
            self._close_run()
        hop = self.hop or 0.0
        return self.errors + [self.m._event(run, hop) for run in self.merged]


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

    def stream():
        """For one long file fed block by block: ``feed(recs)`` -> records to write now, ``close()`` -> the rest."""
        return _PostStream(merger.stream() if merger is not None else None, min_score)

    post.band = band
    post.stream = stream
    return post


class _PostStream:
    def __init__(self, events, min_score):
        self.events, self.min_score = events, min_score

    def feed(self, recs) -> list:
        if self.events is not None:
            self.events.feed(recs)
            return []
        return keep_min_score(recs, self.min_score) if self.min_score is not None else recs

    def close(self) -> list:
        if self.events is None:
            return []
        return keep_min_score(self.events.close(), self.min_score) if self.min_score is not None else self.events.close()
