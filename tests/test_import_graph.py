"""The import graph of ``lfkit``: no circles, no upward arrows, no shell in the library.

Every ``lfkit/**/*.py`` is parsed with :mod:`ast` (imports inside functions
included, so a circle hidden in a function-level import is still a circle).
An edge ``a -> b`` means module ``a`` imports module ``b``; importing a name
from a package counts as importing the submodule when one of that name
exists (``from lfkit import io`` is ``lfkit.io``). The implicit import of a
parent package is not an edge.

The layers, lowest first (a module may import its own layer or lower ones;
ARCHITECTURE.md draws this table)::

    7 metrics report   evaluate
    6 scoring          scoring, enroll, embedding
    5 regimes          train, lr_search, baselines, oneclass, oneclass_sets, siamese, siamese_train, siamese_joint
    4 inference        inference.* (model file, checks, numpy heads, scorers), modelfile (old name)
    3 models           models.*, detectors.*, joint
    2 signal           mel, floor, features, frontend, autofront, probe, synth, augment, surrogate,
                       surrogate_data, segments, data, metrics, thresholds
    1 io               io, reading, outputs, riff, partial_dir, streaming, records, checkpoint
    0 base             lfkit, errors, config, resources, eta
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "lfkit"

#: Layer of each module, by exact name or by package prefix (``name.*``); lowest first.
LAYERS = {
    0: ["lfkit", "lfkit.errors", "lfkit.config", "lfkit.config_base", "lfkit.config_regimes", "lfkit.resources", "lfkit.eta"],
    1: ["lfkit.io", "lfkit.io_files", "lfkit.io_audio", "lfkit.io_tables", "lfkit.reading", "lfkit.outputs", "lfkit.riff", "lfkit.partial_dir", "lfkit.streaming",
        "lfkit.records", "lfkit.checkpoint", "lfkit.writers", "lfkit.selections"],
    2: ["lfkit.waveform", "lfkit.parallel", "lfkit.mel", "lfkit.pcen", "lfkit.cepstrum", "lfkit.floor", "lfkit.features", "lfkit.frontend", "lfkit.autofront", "lfkit.probe",
        "lfkit.synth", "lfkit.augment", "lfkit.surrogate", "lfkit.surrogate_data", "lfkit.segments", "lfkit.data",
        "lfkit.metrics", "lfkit.thresholds"],
    3: ["lfkit.models.*", "lfkit.detectors.*", "lfkit.joint"],
    4: ["lfkit.inference.*", "lfkit.modelfile"],
    5: ["lfkit.train", "lfkit.train_loop", "lfkit.fusion", "lfkit.baselines", "lfkit.oneclass", "lfkit.oneclass_sets", "lfkit.siamese",
        "lfkit.siamese_train", "lfkit.siamese_batches", "lfkit.siamese_joint", "lfkit.lr_search"],
    6: ["lfkit.scoring", "lfkit.scoring_stream", "lfkit.enroll", "lfkit.embedding", "lfkit.detections", "lfkit.clips", "lfkit.export", "lfkit.cluster",
        "lfkit.onnx_graph"],
    7: ["lfkit.evaluate"],
}
LAYER_NAMES = {0: "base", 1: "io", 2: "signal", 3: "models", 4: "inference", 5: "regimes", 6: "scoring",
               7: "metrics report"}

#: Circles known at the time of writing in modules outside this change (remove an entry when it is fixed:
#: the test fails on an entry that is no longer a circle, so the list only shrinks).
KNOWN_CYCLES: list = []
#: The command-line shell and its toolkit: the library never imports them.
FORBIDDEN = ("lfkit_cli", "cli", "typer", "click")


def _modules() -> dict[str, Path]:
    mods = {}
    for p in sorted(PACKAGE.rglob("*.py")):
        parts = list(p.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = p
    return mods


def _resolve(name: str, mods) -> str | None:
    while name and name not in mods:
        name = name.rpartition(".")[0]
    return name or None


def _imports(mod: str, path: Path, mods) -> tuple[set, set]:
    """``(lfkit modules imported, top-level names of every import)`` of one module, function-level ones included."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    found, tops = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                tops.add(alias.name.split(".")[0])
                if alias.name.split(".")[0] == "lfkit":
                    found.add(_resolve(alias.name, mods))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            tops.add(base.split(".")[0])
            if base.split(".")[0] != "lfkit":
                continue
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.add(full if full in mods else _resolve(base, mods))
    found.discard(None)
    found.discard(mod)
    return found, tops


def import_graph() -> dict[str, set]:
    mods = _modules()
    return {m: _imports(m, p, mods)[0] for m, p in mods.items()}


def layer_of(mod: str) -> int:
    for layer, names in LAYERS.items():
        for n in names:
            if mod == n or (n.endswith(".*") and (mod == n[:-2] or mod.startswith(n[:-1]))):
                return layer
    raise KeyError(mod)


def cycles(graph: dict[str, set]) -> list[set]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(comp)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_parser_sees_function_level_imports(tmp_path):
    # the detector must see what the old circle hid: an import inside a function
    (tmp_path / "lfkit").mkdir()
    (tmp_path / "lfkit" / "a.py").write_text("def f():\n    from lfkit.b import g\n")
    (tmp_path / "lfkit" / "b.py").write_text("from . import a\n")
    mods = {"lfkit.a": tmp_path / "lfkit" / "a.py", "lfkit.b": tmp_path / "lfkit" / "b.py"}
    graph = {m: _imports(m, p, mods)[0] for m, p in mods.items()}
    assert graph == {"lfkit.a": {"lfkit.b"}, "lfkit.b": {"lfkit.a"}}
    assert cycles(graph) == [{"lfkit.a", "lfkit.b"}]


def test_every_module_has_a_layer():
    missing = [m for m in _modules() if not _has_layer(m)]
    assert not missing, f"add these modules to LAYERS: {missing}"


def _has_layer(m) -> bool:
    try:
        layer_of(m)
        return True
    except KeyError:
        return False


def test_no_import_cycles():
    found = cycles(import_graph())
    unknown = [sorted(c) for c in found if c not in KNOWN_CYCLES]
    assert not unknown, f"import circles: {unknown}"
    fixed = [sorted(c) for c in KNOWN_CYCLES if c not in found]
    assert not fixed, f"no longer circles, remove from KNOWN_CYCLES: {fixed}"


def test_no_upward_imports():
    graph = import_graph()
    upward = [f"{a} ({LAYER_NAMES[layer_of(a)]}) -> {b} ({LAYER_NAMES[layer_of(b)]})"
              for a in sorted(graph) for b in sorted(graph[a])
              if _has_layer(a) and _has_layer(b) and layer_of(b) > layer_of(a)]
    assert not upward, "upward imports:\n" + "\n".join(upward)


def test_library_never_imports_the_shell():
    mods = _modules()
    bad = sorted(f"{m} imports {t}" for m, p in mods.items() for t in _imports(m, p, mods)[1] if t in FORBIDDEN)
    assert not bad, bad


@pytest.mark.parametrize("mod", ["lfkit.inference", "lfkit.inference.scorers", "lfkit.inference.modelfile"])
def test_inference_never_reaches_training(mod):
    # loading a model and scoring never imports training code, however indirectly
    graph = import_graph()
    training = set(LAYERS[5]) | {"lfkit.data", "lfkit.augment", "lfkit.surrogate", "lfkit.surrogate_data"}
    seen, todo = set(), [mod]
    while todo:
        m = todo.pop()
        if m not in seen:
            seen.add(m)
            todo.extend(graph.get(m, ()))
    assert not (seen & training), sorted(seen & training)
