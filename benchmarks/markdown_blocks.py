"""Generated blocks of a Markdown file: the text between a begin marker line and an end marker line.

Every script that writes README numbers from results files
(``benchmarks/readme_block.py``, ``benchmarks/speed_block.py``,
``examples/paper/readme_table.py``, ``examples/paper/readme_rates.py``) finds
its block and rewrites the file through this module: each marker must appear
exactly once, the begin marker first, each on a line of its own; the file is
written under a temporary name and renamed into place, and only when its text
changes, so nothing outside the blocks is ever touched.
"""

from __future__ import annotations

import os
from pathlib import Path


def markers(name: str) -> tuple:
    """``("<!-- name:begin -->", "<!-- name:end -->")``."""
    return f"<!-- {name}:begin -->", f"<!-- {name}:end -->"


def split_block(text: str, begin: str, end: str, where: str, prog: str) -> tuple:
    """``(before, block, after)`` of ``text`` around the lines ``begin`` and ``end``.

    ``before`` ends with the begin line (its newline included) and ``after``
    starts with the end marker. SystemExit naming ``prog`` and ``where`` when
    either marker is missing, repeated, or the end comes first.
    """
    if text.count(begin) != 1 or text.count(end) != 1 or text.index(begin) > text.index(end):
        raise SystemExit(f"{prog}: {where} needs one {begin} line followed by one {end} line")
    i = text.index(begin) + len(begin) + 1
    j = text.index(end)
    return text[:i], text[i:j], text[j:]


def rewrite(path, old: str, new: str) -> bool:
    """Write ``new`` to ``path`` (under ``path.tmp``, then renamed) when it differs from ``old``; True if written."""
    if new == old:
        return False
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(new, encoding="utf-8")
    os.replace(tmp, path)
    return True
