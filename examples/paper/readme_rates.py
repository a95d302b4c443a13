"""Write the chosen learning rates of ``results/table*.json``, and the counts quoted about them, into README.md.

The rates in this folder's README are generated, never pasted::

    python readme_rates.py                # rewrite both blocks of README.md
    python readme_rates.py --check        # exit 1 if README.md disagrees with results/

Two blocks, each between its markers (on lines of their own):

- ``<!-- rates1:begin -->`` ... ``<!-- rates1:end -->``: Table 1's chosen
  rate per backbone and seed (the winner's validation loss in brackets), then
  the sentences that count them: backbones whose seeds disagree, backbones
  that kept one rate, models whose candidates all sit at a chance-level loss,
  models where the validation AUC would have picked another rate;
- ``<!-- rates23:begin -->`` ... ``<!-- rates23:end -->``: the rates of the
  Table 2 extractors and the Table 3 backbones per loss, seeds side by side,
  and which of them kept the pre-search rate in every seed.

They are read from the ``lr`` records ``tables.py`` writes per row and seed
(from each model file's ``training["lr_search"]``). README.md is rewritten
under a temporary name and renamed; nothing outside the blocks changes. A
block whose ``table*.json`` carry no ``lr`` records (written by an older
``tables.py``) is left as it stands, said on standard error, and the exit
status is 1, with ``--check`` too.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import textwrap
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "benchmarks"))

import markdown_blocks as MB  # noqa: E402  (the README block rules every block writer shares)

#: The rate every network trained at before the search (``TrainConfig.lr`` then): a model that
#: chose it again trains the same weights, so its row did not move.
BEFORE_LR = 1e-3
#: A binary classifier's loss at chance: ln 2 (BCE of a constant 0.5 output).
CHANCE_LOSS = math.log(2)
#: "Near chance": every candidate's validation loss within this of ``CHANCE_LOSS``.
NEAR = 0.02
#: Table 2 and 3 rows name the same backbone differently.
BACKBONE = {"ocspeccnn": "speccnn", "sispeccnn": "speccnn"}
BACKBONE_NAME = {"speccnn": "Spec-CNN (OC- / Si-)"}
WORDS = ["no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"]


def _word(n: int) -> str:
    return WORDS[n] if 0 <= n < len(WORDS) else str(n)


def _and(parts: list) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def fmt_rate(lr: float) -> str:
    """``0.003`` -> ``"3e-3"`` (the Makefile's spelling of ``LRS``)."""
    mant, exp = f"{lr:e}".split("e")
    return f"{float(mant):g}e{int(exp)}"


def _wrap(text: str) -> str:
    return textwrap.fill(text, 78, break_long_words=False, break_on_hyphens=False)


def _first(row: dict) -> str:
    """Display name of a row's network: ``"LeNet + OC-SVM"`` -> ``"LeNet"``."""
    return row["name"].split(" + ")[0]


def _records(doc: dict, where: str) -> list:
    """The rows of a table that trained a network, refused when the table has no ``lr`` records."""
    rows = doc["rows"]
    if any("lr" not in r for r in rows):
        raise SystemExit(f"readme_rates.py: {where} has no learning-rate records (written by an older "
                         "tables.py): rebuild results/ with `make all`, then `make readme`")
    return [r for r in rows if r["lr"] is not None]


def _searched(rec) -> bool:
    return bool(rec and rec.get("candidates"))


def auc_would_differ(rec: dict) -> bool:
    """The chosen rate's validation AUC is below another candidate's (a tie is no other pick)."""
    aucs = [c.get("val_auc") for c in rec["candidates"]]
    aucs = [a for a in aucs if a is not None]
    mine = next(c.get("val_auc") for c in rec["candidates"] if c["rank"] == 0)
    return bool(aucs) and (mine is None or max(aucs) > mine)


def near_chance(rec: dict) -> bool:
    """Every candidate's validation loss within ``NEAR`` of ln 2 (a diverged candidate is not)."""
    return all(c["val_loss"] is not None and abs(c["val_loss"] - CHANCE_LOSS) < NEAR for c in rec["candidates"])


def _seeds_phrase(name: str, seeds: list, all_seeds: list) -> str:
    if seeds == all_seeds:
        return f"every {name} seed"
    return f"{name}'s seed{'s' if len(seeds) > 1 else ''} " + _and([s.removeprefix("s") for s in seeds])


def render_table1(doc: dict) -> str:
    """Block ``rates1`` (without its markers) from a ``table1.json`` document."""
    rows = _records(doc, "table1.json")
    seeds = [f"s{s}" for s in doc["seeds"]]
    out = ["| backbone | " + " | ".join(f"seed {s[1:]}" for s in seeds) + " |",
           "|---|" + "---:|" * len(seeds)]
    for r in rows:
        cells = []
        for s in seeds:
            rec = r["lr"].get(s)
            if rec is None:
                cells.append("n/a")
            else:
                loss = f"{rec['val_loss']:.2f}" if _searched(rec) and rec["val_loss"] is not None else "no search"
                cells.append(f"{rec['chosen']:g} ({loss})")
        out.append(f"| {r['name']} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n\n" + _wrap(_table1_prose(rows, seeds)) + "\n"


def _table1_prose(rows: list, seeds: list) -> str:
    chosen = {r["name"]: [r["lr"][s]["chosen"] for s in seeds if _searched(r["lr"].get(s))] for r in rows}
    chosen = {k: v for k, v in chosen.items() if v}
    if not chosen:
        return "No Table 1 network searched its learning rate."
    every = {x for v in chosen.values() for x in v}
    split = [k for k, v in chosen.items() if len(set(v)) > 1]
    lead = ("No single rate wins for every backbone" if len(every) > 1
            else f"Every backbone chose {fmt_rate(every.pop())}")
    n_seeds = _word(len(seeds))
    text = (f"{lead}, and the {n_seeds} seeds of a backbone disagree for {_word(len(split))} of the "
            f"{_word(len(chosen))}." if split else f"{lead}, and the {n_seeds} seeds of every backbone agree.")
    kept: dict = {}
    for k, v in chosen.items():
        if len(set(v)) == 1 and len(v) == len(seeds):
            kept.setdefault(v[0], []).append(k)
    for lr, names in sorted(kept.items()):
        verb = "keeps" if len(names) == 1 else "keep"
        text += f" {_and(names)} {verb} {fmt_rate(lr)} in every seed"
        if lr == BEFORE_LR:
            text += (", so its models and its row are the same as before the search." if len(names) == 1 else
                     ", so their models and rows are the same as before the search.")
        else:
            text += "."
    recs = [(r["name"], s, r["lr"][s]) for r in rows for s in seeds if _searched(r["lr"].get(s))]
    n = len(recs)
    near: dict = {}
    for name, s, rec in recs:
        if near_chance(rec):
            near.setdefault(name, []).append(s)
    n_near = sum(len(v) for v in near.values())
    n_cand = {len(rec["candidates"]) for _, _, rec in recs}
    cands = f"all {_word(n_cand.pop())} candidates" if len(n_cand) == 1 else "all the candidates"
    epochs = {rec.get("search_epochs") for _, _, rec in recs}
    warm = {rec.get("warmup_epochs") for _, _, rec in recs}
    after = "after the search epochs"
    if len(epochs) == 1 and None not in epochs:
        e = epochs.pop()
        after = f"after {e} epoch{'s' if e != 1 else ''}"
        w = warm.pop() if len(warm) == 1 else None
        if w == 1 and e > 1:
            after += " (the first of them the linear warm-up)"
        elif w and e > w:
            after += f" (the first {w:g} of them the linear warm-up)"
    n_auc = sum(auc_would_differ(rec) for _, _, rec in recs)
    auc = f"in {n_auc} of the {n} models the validation AUC would have picked another rate."
    if n_near:
        parts = []  # the backbones near chance in every seed first: "every Inception and Basic CNN seed"
        whole = [name for name, ss in near.items() if ss == seeds]
        if whole:
            parts.append(f"every {_and(whole)} seed")
        parts += [_seeds_phrase(name, ss, seeds) for name, ss in near.items() if ss != seeds]
        text += (f" For {n_near} of the {n} models ({', '.join(parts)}) {cands} still sit within {NEAR:g} of "
                 f"ln 2 = {CHANCE_LOSS:.2f}, a chance-level loss, {after}: there the search ranks near-equal "
                 f"losses, and {auc}")
    else:
        text += (f" In no model do {cands} sit within {NEAR:g} of ln 2 = {CHANCE_LOSS:.2f} (a chance-level "
                 f"loss) {after}; {auc}")
    return text


def _rates(recs: list) -> str:
    """One seed's cell part: the chosen rate (Table 2: the same for every detector, else each of them)."""
    got = sorted({r["chosen"] for r in recs if r is not None})
    return " or ".join(fmt_rate(x) for x in got) if got else "n/a"


def render_tables23(doc2: dict, doc3: dict) -> str:
    """Block ``rates23`` (without its markers) from ``table2.json`` and ``table3.json`` documents."""
    rows2, rows3 = _records(doc2, "table2.json"), _records(doc3, "table3.json")
    seeds = [f"s{s}" for s in doc2["seeds"]]
    if [f"s{s}" for s in doc3["seeds"]] != seeds:
        raise SystemExit(f"readme_rates.py: table2.json has seeds {doc2['seeds']}, table3.json {doc3['seeds']}")
    profile = doc2["profile"]
    backbones, names = [], {}
    ext: dict = {}  # backbone -> (extractor name, [rows])
    sia: dict = {}  # (backbone, loss) -> (arch name, row)
    losses = []
    for r in rows2:
        e = r["row"].split("-")[0]
        b = BACKBONE.get(e, e)
        ext.setdefault(b, (_first(r), []))[1].append(r)
        backbones += [] if b in backbones else [b]
        names.setdefault(b, BACKBONE_NAME.get(b, _first(r)))
    for r in rows3:
        a, loss = r["row"].split("-")[:2]
        b = BACKBONE.get(a, a)
        sia[(b, loss)] = (_first(r), r)
        losses += [] if loss in losses else [loss]
        backbones += [] if b in backbones else [b]
        names.setdefault(b, BACKBONE_NAME.get(b, _first(r)))
    out = [_wrap(f"Chosen rates (from `build/{profile}/t2/*/s*.pt` and `build/{profile}/t3/*/s*.pt`), seeds "
                 + " / ".join(s[1:] for s in seeds) + ":"), "",
           "| backbone | Table 2 extractor | " + " | ".join(f"Table 3 {loss}" for loss in losses) + " |",
           "|---|---|" + "---|" * len(losses)]
    kept, kept3 = [], []  # columns where every seed kept the pre-search rate: Table 2's, then Table 3's
    for b in backbones:
        cells = [""]
        if b in ext:
            per = [[r["lr"].get(s) for r in ext[b][1]] for s in seeds]
            if all(_searched(x) and x["chosen"] == BEFORE_LR for recs in per for x in recs):
                kept.append(f"{ext[b][0]}'s extractor")
            cells = [" / ".join(_rates(recs) for recs in per)]
        for loss in losses:
            if (b, loss) not in sia:
                cells.append("")
                continue
            name, r = sia[(b, loss)]
            recs = [r["lr"].get(s) for s in seeds]
            if all(_searched(x) and x["chosen"] == BEFORE_LR for x in recs):
                kept3.append(f"{name} with the {loss} loss")
            cells.append(" / ".join(_rates([x]) for x in recs))
        out.append(f"| {names[b]} | " + " | ".join(cells) + " |")
    kept += kept3
    if kept:
        tail = (f"Where every seed kept {fmt_rate(BEFORE_LR)} ({', '.join(kept)}) the "
                f"row{'s are' if len(kept) > 1 else ' is'} the same as before the search.")
    else:
        tail = f"No extractor or siamese backbone kept {fmt_rate(BEFORE_LR)} in every seed."
    return "\n".join(out) + "\n\n" + _wrap(tail) + "\n"


def split_block(text: str, name: str, where: str = "README") -> tuple[str, str, str]:
    """``(before, block, after)`` of ``text`` around block ``name``; SystemExit if its markers are off."""
    return MB.split_block(text, *MB.markers(name), where, "readme_rates.py")


def _docs(results: Path) -> dict:
    docs = {}
    for t in ("table1", "table2", "table3"):
        path = Path(results) / f"{t}.json"
        if not path.exists():
            raise SystemExit(f"readme_rates.py: no {path} (run make, which writes it)")
        docs[t] = json.loads(path.read_text(encoding="utf-8"))
    return docs


#: Each block and how it is made from the three table documents.
BLOCKS = {"rates1": lambda d: render_table1(d["table1"]),
          "rates23": lambda d: render_tables23(d["table2"], d["table3"])}


def render_each(results: Path) -> dict:
    """``{block name: (Markdown, None) or (None, why not)}``: a block whose tables carry no ``lr`` records says why."""
    docs, out = _docs(results), {}
    for name, make in BLOCKS.items():
        try:
            out[name] = (make(docs), None)
        except SystemExit as exc:
            out[name] = (None, str(exc))
    return out


def render(results: Path) -> dict:
    """``{block name: its Markdown}`` from the ``table*.json`` in ``results``; SystemExit if one cannot be made."""
    out = {}
    for name, (text, why) in render_each(results).items():
        if why:
            raise SystemExit(why)
        out[name] = text
    return out


def main(argv=None) -> int:
    """Rewrite (or with ``--check`` compare) every block; exit 1 when one differs or cannot be made.

    A block whose results carry no ``lr`` records is left as it stands, with
    a line on standard error saying why; the other block is still written.
    """
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", default=str(HERE / "results"), help="folder of table1.json, table2.json, table3.json")
    ap.add_argument("--readme", default=str(HERE / "README.md"))
    ap.add_argument("--check", action="store_true", help="only compare; exit 1 when they differ")
    args = ap.parse_args(argv)
    readme = Path(args.readme)
    old = readme.read_text(encoding="utf-8")
    for name in BLOCKS:
        split_block(old, name, str(readme))  # every pair of markers, before any work
    text, left = old, []
    for name, (want, why) in render_each(Path(args.results)).items():
        if why:
            left.append(name)
            print(f"{why} (block {name} of {readme} left as it is)", file=sys.stderr)
            continue
        before, _, after = split_block(text, name, str(readme))
        text = before + want + after
    if args.check:
        if text != old:
            print(f"{readme}: the learning-rate blocks differ from {args.results}; run examples/paper/readme_rates.py")
        return 1 if text != old or left else 0
    MB.rewrite(readme, old, text)
    return 1 if left else 0


if __name__ == "__main__":
    raise SystemExit(main())
