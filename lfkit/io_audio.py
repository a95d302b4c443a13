"""Audio files: decoding (whole, or block by block as fixed chunks) and WAV encoding.

Part of :mod:`lfkit.io`, which re-exports every name here (``io.read_audio``...);
bytes come from and go to :func:`lfkit.io.read_bytes` and
:func:`lfkit.io.write_bytes`, so standard input and output and atomic writes
are handled there.
"""

from __future__ import annotations

import io
import re

import numpy as np

from lfkit import riff
from lfkit.io_files import STDIO, read_bytes, write_bytes
from lfkit.errors import DataError, ParameterError

__all__ = ["read_audio", "read_audio_span", "audio_info", "audio_chunk_blocks", "encode_wav", "write_audio"]


def read_audio(path, channel: int | None = None, data: bytes | None = None, max_bytes: int | None = None):
    """Read an audio file (wav, flac, ogg, mp3) or standard input.

    Parameters
    ----------
    path : str or Path
        File path, or ``-`` for standard input.
    channel : int or None
        Channel to keep (0-based); ``None`` averages all channels to mono.
    data : bytes or None
        The file's bytes when already read (``path`` is then only a name).
    max_bytes : int or None
        Largest file read (default 2 GiB, see :func:`read_bytes`).

    Returns
    -------
    y : np.ndarray, shape (n_samples,), float32
        Samples in [-1, 1] for PCM files.
    sr : int
        Sample rate in Hz.

    Raises
    ------
    DataError
        Empty, not audio, truncated, zero-length, or holding NaN/Inf samples.
    """
    import soundfile as sf


    name = "<stdin>" if str(path) == STDIO else str(path)
    if data is None:
        data = read_bytes(path, max_bytes)
    if len(data) == 0:
        raise DataError(f"{name}: empty file")
    riff.check_wav_complete(data, name)
    try:
        y, sr = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except Exception as exc:  # libsndfile's message is specific enough, less the buffer's repr
        why = re.sub(r"^Error opening <[^>]*>: ", "", str(exc)).strip()
        raise DataError(f"{name}: not a readable audio file ({why})") from None
    if y.shape[0] == 0:
        raise DataError(f"{name}: zero-length audio")
    y = _pick_channel(y, channel, name)
    y = np.ascontiguousarray(y, dtype=np.float32)
    if not np.isfinite(y).all():
        raise DataError(f"{name}: audio holds NaN or Inf samples")
    return y, int(sr)


def audio_info(path):
    """Return ``(n_samples, sr, channels)`` of an audio file without decoding it."""
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except Exception as exc:
        raise DataError(f"{path}: not a readable audio file ({exc})") from None
    return int(info.frames), int(info.samplerate), int(info.channels)


def _pick_channel(y: np.ndarray, channel: int | None, name: str) -> np.ndarray:
    """Frames ``y`` (n, channels) -> (n,): one channel (0-based), or the mean of all when ``channel`` is None."""
    if channel is None:
        return y.mean(axis=1, dtype=np.float32) if y.shape[1] > 1 else y[:, 0]
    if not 0 <= channel < y.shape[1]:
        raise ParameterError(f"channel={channel} is out of range: {name} has {y.shape[1]} channel(s)")
    return y[:, channel]


def read_audio_span(path, start: int, n: int, channel: int | None = None) -> np.ndarray:
    """``n`` samples of file ``path`` from sample ``start``, float32 (only that part is decoded).

    A span running past the end is zero-padded to ``n``; ``channel`` as in
    :func:`read_audio` (None: the mean of the channels).
    """
    import soundfile as sf

    try:
        y, _ = sf.read(str(path), start=start, frames=n, dtype="float32", always_2d=True)
    except Exception as exc:  # noqa: BLE001 - libsndfile's errors vary
        raise DataError(f"{path}: not a readable audio file ({exc})") from None
    y = _pick_channel(y, channel, str(path))
    if len(y) < n:
        y = np.pad(y, (0, n - len(y)))
    return y


def audio_chunk_blocks(path, chunk_s: float, hop_s: float, block: int, channel: int | None = None):
    """Read a long audio file block by block, as fixed chunks; never holds more than ``block`` chunks.

    Parameters
    ----------
    path : str or Path
        Audio file on disk (not standard input: it is read whole).
    chunk_s, hop_s : float
        Chunk length and hop, seconds.
    block : int
        Chunks per yielded block.
    channel : int or None
        Channel to keep (0-based); None averages all channels.

    Yields
    ------
    starts, ends : np.ndarray, shape (k,)
        Chunk bounds, seconds.
    Y : np.ndarray, shape (k, n_chunk), float32
        The chunks' samples.
    sr : int
        The file's sample rate, Hz.
    """
    import soundfile as sf

    try:
        f = sf.SoundFile(path)
    except Exception as exc:
        raise DataError(f"{path}: not a readable audio file ({exc})") from None
    with f:
        sr = f.samplerate
        n_chunk, n_hop = int(round(chunk_s * sr)), int(round(hop_s * sr))
        if n_chunk < 1 or n_hop < 1:
            raise ParameterError(f"chunk={chunk_s!r} s is shorter than one sample")
        total = f.frames
        if total < n_chunk:
            raise DataError(f"{path}: {total / sr:.3g} s of audio is shorter than one chunk ({chunk_s:g} s)")
        n_chunks = 1 + (total - n_chunk) // n_hop
        for b in range(0, n_chunks, block):
            idx = np.arange(b, min(n_chunks, b + block))
            first = idx[0] * n_hop
            span = idx[-1] * n_hop + n_chunk - first
            f.seek(first)
            frames = f.read(span, dtype="float32", always_2d=True)
            if frames.shape[0] < span:
                raise DataError(f"{path}: truncated audio (ended at {(first + frames.shape[0]) / sr:.3f} s)")
            y = _pick_channel(frames, channel, str(path))
            if not np.isfinite(y).all():
                raise DataError(f"{path}: audio holds NaN or Inf samples")
            Y = np.stack([y[(i - idx[0]) * n_hop : (i - idx[0]) * n_hop + n_chunk] for i in idx])
            yield idx * n_hop / sr, (idx * n_hop + n_chunk) / sr, Y, sr


def encode_wav(y: np.ndarray, sr: int, subtype: str = "PCM_16") -> bytes:
    """Encode a waveform as WAV bytes (complete header first, pipe-safe).

    Parameters
    ----------
    y : np.ndarray, shape (n_samples,)
        Samples in [-1, 1].
    sr : int
        Sample rate in Hz.
    subtype : str
        ``PCM_16`` (default) or ``FLOAT``.
    """
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, np.asarray(y), int(sr), format="WAV", subtype=subtype)
    return riff.strip_peak(buf.getvalue())


def write_audio(y: np.ndarray, sr: int, path, subtype: str = "PCM_16") -> None:
    """Write a WAV atomically to ``path`` or to standard output (``-``/None)."""

    write_bytes(encode_wav(y, sr, subtype), path)
