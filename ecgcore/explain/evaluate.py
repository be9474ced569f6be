"""Measure the explanations on fold-10 records and write the table into docs/explanations.md.

    python -m ecgcore.explain.evaluate --n 50 [--data ../shared/ptbxl] [--weights weights]

For each of n fold-10 records (a fixed draw, seed 0), each shipped model and each method, the
model's most probable class is explained with trust measures at the default settings (seed 0).
Reported per model and method: mean faithfulness (deletion area difference, random - salient)
with its 95% CI (t interval over records) and the share of records where it is > 0, mean
stability and LIME-SHAP agreement (Spearman over the top-k union and over all segments), and
the median seconds per map. With `--models a,b` only those models' rows of the doc's table
are replaced (the others, from an earlier run on the same records, are kept and marked so).
This is evaluation, not tuning: nothing here feeds back into the settings.
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

from ..io.ptbxl import TEST_FOLD, load_index, load_record, split_ids
from ..signal.record import model_input
from ..models.registry import available, load_model
from .core import LIME_SAMPLES, bench_explain, explain
from .models import as_target

DOC = Path(__file__).resolve().parents[2] / "docs" / "explanations.md"
BEGIN, END = "<!-- evaluate:begin -->", "<!-- evaluate:end -->"


def test_records(n: int, data: str | None = None, seed: int = 0,
                 fold: int = TEST_FOLD) -> tuple[np.ndarray, np.ndarray]:
    """(ids (n,), signals (n, 1000, 12)): a fixed draw of records of one fold (default fold 10)."""
    ids = split_ids(load_index(data), fold, fs=100)
    pick = np.sort(np.random.default_rng(seed).choice(ids, min(n, len(ids)), replace=False))
    return pick, np.stack([model_input(load_record(int(i), 100, data)) for i in pick])


def mean_ci(x: list[float]) -> tuple[float, float, float]:
    """Mean and 95% t-interval of the finite values of x."""
    a = np.asarray([v for v in x if v is not None and np.isfinite(v)], np.float64)
    if len(a) < 2:
        return (float(a.mean()) if len(a) else float("nan"), float("nan"), float("nan"))
    half = stats.t.ppf(0.975, len(a) - 1) * a.std(ddof=1) / np.sqrt(len(a))
    return float(a.mean()), float(a.mean() - half), float(a.mean() + half)


KEYS = ("faithfulness", "stability", "stability_all", "agreement_top", "agreement")


def explain_pair(model, x: np.ndarray) -> list:
    """Both methods (LIME only without a network) with trust, for the model's top class."""
    target = as_target(model)
    k = int(np.argmax(target.predict(target.values(x)[None])[0]))
    if target.net is None:
        return [explain(model, x, "lime", k, seed=0, with_trust=True)]
    shap0 = explain(model, x, "shap", k, seed=0, with_trust=False)
    lime = explain(model, x, "lime", k, seed=0, with_trust=True, other=shap0)
    shap = explain(model, x, "shap", k, seed=0, with_trust=True, other=lime)
    return [lime, shap]


def evaluate(models: dict, signals: np.ndarray, log=sys.stderr) -> dict:
    """{(model, method): {measure: [one value per record], 'seconds': [...], 'trust_seconds': [...]}}."""
    rows: dict = {}
    for i, x in enumerate(signals):
        for name, model in models.items():
            for e in explain_pair(model, x):
                r = rows.setdefault((name, e.method), {key: [] for key in KEYS + ("seconds", "trust_seconds")})
                for key in KEYS:
                    r[key].append(e.trust[key])
                r["seconds"].append(e.seconds)
                r["trust_seconds"].append(e.trust["seconds"])
        print(f"record {i + 1}/{len(signals)} done", file=log, flush=True)
    return rows


def _fmt(values: list) -> str:
    m, lo, hi = mean_ci(values)
    return "n/a" if np.isnan(m) else f"{m:.2f} [{lo:.2f}, {hi:.2f}]"


def table(rows: dict) -> str:
    """Markdown table of the per-record results (mean [95% CI] over records)."""
    head = ("| model | method | n | faithfulness: area random - salient [95% CI] | share > 0 | "
            "stability top-k [CI] | stability all [CI] | agreement top-k | agreement all | "
            "s / map (median) |\n|---|---|---|---|---|---|---|---|---|---|\n")
    lines = []
    for (name, method), r in rows.items():
        m, lo, hi = mean_ci(r["faithfulness"])
        pos = np.mean(np.asarray(r["faithfulness"]) > 0)
        lines.append(f"| {name} | {method} | {len(r['faithfulness'])} | {m:.4f} [{lo:.4f}, {hi:.4f}] | "
                     f"{pos:.0%} | {_fmt(r['stability'])} | {_fmt(r['stability_all'])} | "
                     f"{_fmt(r['agreement_top'])} | {_fmt(r['agreement'])} | {np.median(r['seconds']):.2f} |")
    return head + "\n".join(lines) + "\n"


def write_doc(text: str, doc: Path = DOC) -> None:
    """Replace the block between the evaluate markers in `doc` (append it if absent)."""
    block = f"{BEGIN}\n{text}{END}"
    old = doc.read_text() if doc.is_file() else "# Explanations\n"
    if BEGIN in old and END in old:
        new = re.sub(re.escape(BEGIN) + r".*?" + re.escape(END), lambda _: block, old, flags=re.S)
    else:
        new = old.rstrip() + "\n\n" + block + "\n"
    doc.write_text(new)


def _row_key(line: str) -> str | None:
    """'model|method' for a results row, 'step' for a bench row, None for anything else."""
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if not line.startswith("| ") or len(cells) < 2 or set(cells[0]) <= {"-"} or cells[0] in ("model", "step"):
        return None
    return f"{cells[0]}|{cells[1]}" if len(cells) > 2 else cells[0]


def _model_of(key: str) -> str:
    """'scalogram|lime', 'scalogram/shap+trust' and 'cold scalogram/shap' -> 'scalogram'."""
    return key.split("|")[0].removeprefix("cold ").split("/")[0]


def merge_rows(old: str, new: str, names: list[str], note: str) -> str:
    """The old evaluate block with the rows of models `names` taken from `new` (rows of other
    models kept), the bench totals re-summed, and `note` as its first paragraph."""
    fresh = {k: ln for ln in new.splitlines() if (k := _row_key(ln)) and _model_of(k) in names}
    out, seen = [], set()
    for ln in old.splitlines():
        k = _row_key(ln)
        if k in fresh:
            out.append(fresh[k])
            seen.add(k)
        elif not (k and _model_of(k) in names):
            out.append(ln)
    missing = [v for k, v in fresh.items() if k not in seen]
    if missing:
        out.extend(["", "Rows new in the partial run:", ""] + missing)
    steps = {k: float(ln.split("|")[2]) for ln in out if (k := _row_key(ln)) and "|" not in k
             and "/" in k and not k.startswith("cold ")}        # totals: warm maps only, as bench_explain
    totals = {"total": sum(v for k, v in steps.items() if not k.endswith("+trust")),
              "total_with_trust": sum(v for k, v in steps.items() if k.endswith("+trust"))}
    out = [f"| {_row_key(ln)} | {totals[_row_key(ln)]:.2f} |" if _row_key(ln) in totals else ln for ln in out]
    kept = [ln for ln in out if not ln.startswith("Partial re-run (" + ", ".join(names) + ")")]
    return note + "\n\n" + "\n".join(kept).strip("\n") + "\n"


def read_block(doc: Path = DOC) -> str | None:
    """The text between the evaluate markers of `doc`, or None."""
    text = doc.read_text() if doc.is_file() else ""
    m = re.search(re.escape(BEGIN) + r"\n(.*?)" + re.escape(END), text, flags=re.S)
    return m.group(1) if m else None


def lime_samples_arg(text: str) -> dict[str, int]:
    """'scalogram=400,signal=800' -> {'scalogram': 400, 'signal': 800} (views of LIME_SAMPLES)."""
    out = {}
    for part in text.split(","):
        view, _, n = part.partition("=")
        if view not in LIME_SAMPLES or not n.isdigit():
            raise SystemExit(f"--lime-samples: {part!r} is not VIEW=N with VIEW in {sorted(LIME_SAMPLES)}")
        out[view] = int(n)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=50, help="fold-10 records (default 50)")
    p.add_argument("--data", default=None, help="PTB-XL folder (default $PTBXL_DIR)")
    p.add_argument("--weights", default=None, help="weights folder (default weights/)")
    p.add_argument("--models", default=None, help="comma-separated names (default: every shipped "
                   "one); with names, only those models' rows in the doc are replaced")
    p.add_argument("--doc", type=Path, default=DOC)
    p.add_argument("--lime-samples", default=None, metavar="VIEW=N[,VIEW=N]",
                   help="override LIME sample counts for this run (recorded in the doc)")
    args = p.parse_args(argv)
    if args.lime_samples:
        LIME_SAMPLES.update(lime_samples_arg(args.lime_samples))
    names = args.models.split(",") if args.models else available(args.weights)
    if not names:
        print("no weights found: train the models first (python -m ecgcore.models.train NAME)", file=sys.stderr)
        return 1
    models = {n: load_model(n, args.weights) for n in names}
    ids, signals = test_records(args.n, args.data)
    t0 = time.time()
    rows = evaluate(models, signals)
    single = {n: m for n, m in models.items() if as_target(m).net is not None}
    speed = bench_explain(single, signals[0], with_trust=True)          # fused: see the table
    import torch
    cmd = " ".join(["python -m ecgcore.explain.evaluate"] + (argv if argv is not None else sys.argv[1:]))
    text = (f"Measured by `{cmd}` on {len(ids)} fold-10 records "
            f"(ecg_id {ids[0]}..{ids[-1]}, fixed draw), models: {', '.join(names)}; "
            f"explained class = each model's most probable class; seed 0; {time.time() - t0:.0f} s in all, "
            f"torch threads {torch.get_num_threads()}.\n\n" + table(rows) +
            "\nSeconds for one record (ecg_id " + str(ids[0]) + "), its top class, `bench_explain` on "
            "the single-view models after the run above (backgrounds and explainers already "
            "cached):\n\n"
            "| step | seconds |\n|---|---|\n" +
            "".join(f"| {k} | {v:.2f} |\n" for k, v in speed.items()))
    old = read_block(args.doc)
    if args.models and old is not None:
        note = (f"Partial re-run ({', '.join(names)}) on {time.strftime('%Y-%m-%d')}: `{cmd}`, "
                f"LIME samples {dict(LIME_SAMPLES)}, same records, {time.time() - t0:.0f} s, torch "
                f"threads {torch.get_num_threads()}; only "
                f"the rows of {', '.join(names)} below come from it (totals re-summed), the others "
                "from the full run described next.")
        text = merge_rows(old, text, names, note)
    write_doc(text, args.doc)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
