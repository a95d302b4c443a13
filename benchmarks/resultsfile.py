"""Writing the benchmarks' results JSON: indented, per-clip lists on one line, replaced atomically."""

from __future__ import annotations

import json
from pathlib import Path


def dumps(doc: dict) -> str:
    """``doc`` as indented JSON whose flat lists (per-clip scores, labels) sit on one line each."""
    flat = []

    def mark(x):
        if isinstance(x, dict):
            return {k: mark(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            if x and not any(isinstance(v, (dict, list, tuple)) for v in x):
                flat.append(json.dumps(list(x), separators=(",", ":")))
                return f"\0flat{len(flat) - 1}\0"
            return [mark(v) for v in x]
        return x

    text = json.dumps(mark(doc), indent=1)
    for i, s in enumerate(flat):
        text = text.replace(json.dumps(f"\0flat{i}\0"), s, 1)
    return text + "\n"


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` under a temporary name, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)
