"""Read Gravis UltraSound ``.pat`` patches (the format freepats ships) and render notes from them.

Layout of a patch file (little-endian; sizes in bytes):

* header (129): ``GF1PATCH110\\0`` or ``GF1PATCH100\\0`` (12), ``ID#000002\\0`` (10),
  description (60), instruments (1), voices (1), channels (1), waveforms (2),
  master volume (2), data size (4), reserved (36);
* instrument (63): id (2), name (16), size (4), layers (1), reserved (40);
* layer (47): duplicate (1), layer (1), size (4), samples (1), reserved (40);
* per sample, a header (96) then its PCM data: wave name (7), fractions (1),
  data length in bytes (4), loop start (4), loop end (4), sample rate (2),
  low / high / root frequency in milli-Hz (4 each), tune (2), balance (1),
  envelope rates (6) and offsets (6), tremolo (3), vibrato (3), modes (1),
  scale frequency (2), scale factor (2), reserved (36).
  Modes bit 0: 16-bit samples (else 8-bit); bit 1: unsigned (else signed);
  bit 2: looping. Loop points are in bytes.

Only the first layer of the first instrument is read (all freepats patches have one).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["GusSample", "read_patch", "render_note"]

_HEADER, _INSTRUMENT, _LAYER, _SAMPLE = 129, 63, 47, 96


@dataclass
class GusSample:
    """One recorded sample of a patch.

    Attributes
    ----------
    y : np.ndarray, shape (n_samples,)
        PCM scaled to [-1, 1), float32.
    sr : int
        Its sample rate, Hz.
    root_hz, low_hz, high_hz : float
        Pitch it was recorded at, and the key range it serves, Hz.
    loop : tuple of int or None
        (start, end) of the sustain loop, in samples, or None.
    """

    y: np.ndarray
    sr: int
    root_hz: float
    low_hz: float
    high_hz: float
    loop: tuple | None


def read_patch(path) -> list:
    """Samples of a ``.pat`` file, in file order.

    Raises
    ------
    ValueError
        Not a GF1 patch, or its data is truncated.
    """
    b = Path(path).read_bytes()
    if not b.startswith((b"GF1PATCH110", b"GF1PATCH100")):
        raise ValueError(f"{path}: not a GF1 patch (magic {b[:12]!r})")
    n_samples = b[_HEADER + _INSTRUMENT + 6]
    pos = _HEADER + _INSTRUMENT + _LAYER
    out = []
    for _ in range(n_samples):
        if pos + _SAMPLE > len(b):
            raise ValueError(f"{path}: truncated sample header at byte {pos}")
        (size, loop_start, loop_end, sr, low, high, root) = struct.unpack_from("<IIIHIII", b, pos + 8)
        modes = b[pos + 55]
        pos += _SAMPLE
        raw = b[pos : pos + size]
        if len(raw) < size:
            raise ValueError(f"{path}: truncated sample data at byte {pos}")
        pos += size
        wide, unsigned, looping = bool(modes & 1), bool(modes & 2), bool(modes & 4)
        if wide:
            y = np.frombuffer(raw[: size // 2 * 2], dtype="<u2" if unsigned else "<i2").astype(np.float32)
            y = (y - 32768.0 if unsigned else y) / 32768.0
        else:
            y = np.frombuffer(raw, dtype=np.uint8 if unsigned else np.int8).astype(np.float32)
            y = (y - 128.0 if unsigned else y) / 128.0
        width = 2 if wide else 1
        loop = (loop_start // width, loop_end // width) if looping and loop_end > loop_start else None
        out.append(GusSample(y.astype(np.float32), int(sr), root / 1000.0, low / 1000.0, high / 1000.0, loop))
    return out


def render_note(s: GusSample, freq_hz: float, sr: int, n: int, offset_s: float = 0.0) -> np.ndarray:
    """Play ``s`` at ``freq_hz`` for ``n`` samples at rate ``sr``, by linear-interpolation resampling.

    The sustain loop, when the sample has one, repeats as long as needed; a
    sample without a loop ends in silence. ``offset_s`` skips that much of the
    sample (in the sample's own time) before the clip starts.

    Returns
    -------
    np.ndarray, shape (n,), float32
    """
    step = (freq_hz / s.root_hz) * (s.sr / sr)
    pos = offset_s * s.sr + step * np.arange(n)
    y = s.y
    if s.loop is not None:
        a, b = s.loop
        b = min(b, len(y) - 1)
        if b - a >= 2:
            period = b - a
            pos = np.where(pos >= b, a + np.mod(pos - a, period), pos)
    out = np.interp(pos, np.arange(len(y)), y, right=0.0)
    return out.astype(np.float32)
