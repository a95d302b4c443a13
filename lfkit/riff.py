"""RIFF/WAVE chunk checks and fixes on encoded bytes (no decoding).

:func:`check_wav_complete` refuses a WAV whose header promises more data than
the file holds; :func:`strip_peak` drops libsndfile's ``PEAK`` chunk, whose
timestamp made float WAVs of equal audio differ byte for byte.
"""

from __future__ import annotations

import struct

from lfkit.errors import DataError

__all__ = ["check_wav_complete", "strip_peak"]


def check_wav_complete(data: bytes, name: str) -> None:
    """Refuse a RIFF/WAVE whose data chunk declares more bytes than are present."""
    if len(data) < 12 or data[:4] not in (b"RIFF", b"RIFX") or data[8:12] != b"WAVE":
        return
    fmt = "<I" if data[:4] == b"RIFF" else ">I"
    pos = 12
    while pos + 8 <= len(data):
        cid = data[pos : pos + 4]
        (size,) = struct.unpack(fmt, data[pos + 4 : pos + 8])
        if cid == b"data":
            if size in (0, 0xFFFFFFFF):  # streamed header: length unknown
                return
            available = len(data) - pos - 8
            if available < size:
                raise DataError(
                    f"{name}: truncated WAV (header declares {size} data bytes, file holds {available})"
                )
            return
        pos += 8 + size + (size & 1)
    raise DataError(f"{name}: truncated WAV (no data chunk)")


def strip_peak(data: bytes) -> bytes:
    """Drop the ``PEAK`` chunk libsndfile adds to float WAV: it holds a timestamp, so equal audio differed."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return data
    pos, kept = 12, [data[:12]]
    while pos + 8 <= len(data):
        (size,) = struct.unpack("<I", data[pos + 4 : pos + 8])
        end = min(len(data), pos + 8 + size + (size & 1))
        if data[pos : pos + 4] == b"data":  # the rest as it is (a streamed size may be a placeholder)
            kept.append(data[pos:])
            break
        if data[pos : pos + 4] != b"PEAK":
            kept.append(data[pos:end])
        pos = end
    out = b"".join(kept)
    if len(out) == len(data):
        return data
    return out[:4] + struct.pack("<I", len(out) - 8) + out[8:]
