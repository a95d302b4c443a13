"""The commands the README and docs/dask.md show use options the CLI has.

Every ``lfkit CMD ... --option`` written in README.md or docs/dask.md (code
blocks and inline code alike) must name an option of ``CMD``; a renamed or
removed option then fails here instead of in a user's shell.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer.main

from lfkit_cli.main import app

ROOT = Path(__file__).resolve().parent.parent
DOCS = ["README.md", "docs/dask.md", "examples/paper/README.md"]


def _options() -> dict[str, set[str]]:
    group = typer.main.get_command(app)
    out = {}
    for name, cmd in group.commands.items():
        opts = set()
        for p in cmd.params:
            opts.update(o for o in (*p.opts, *p.secondary_opts) if o.startswith("--"))
        out[name] = opts | {"--help", "--debug"}
    return out


def unknown_options(text: str, options: dict[str, set[str]]) -> list[tuple[str, str, str]]:
    """``(command, option, excerpt)`` for each ``lfkit CMD ... --opt`` whose CMD lacks ``--opt``.

    A command's options run to the end of its line, its inline code span, or
    a pipe / ``&&`` / ``;`` / ``#`` that starts another command or a comment.
    """
    names = "|".join(sorted(map(re.escape, options), key=len, reverse=True))
    bad = []
    for m in re.finditer(rf"\blfkit ({names})(?![\w-])([^`\n|&;#]*)", text):
        cmd, rest = m.group(1), m.group(2)
        for opt in re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", rest):
            if opt not in options[cmd]:
                bad.append((cmd, opt, m.group(0)[:100]))
    return bad


@pytest.mark.parametrize("doc", DOCS)
def test_documented_options_exist(doc):
    assert unknown_options((ROOT / doc).read_text(encoding="utf-8"), _options()) == []


def test_checker_catches_a_wrong_option():
    options = _options()
    text = "run `lfkit score m.pt test --no-such-flag -o s.jsonl` then\n```sh\nlfkit clips a.wav -o d --tones 1\n```"
    assert [(c, o) for c, o, _ in unknown_options(text, options)] == [("score", "--no-such-flag"), ("clips", "--tones")]
    # what follows a pipe belongs to the next command
    assert unknown_options("lfkit synth --tones 100 | lfkit spectro --kind log > x.npy", options) == []
    assert [(c, o) for c, o, _ in unknown_options("lfkit synth --tones 100 --kind log", options)] == [("synth", "--kind")]
