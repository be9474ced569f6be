"""Clinical plausibility of the saliency maps on fold 10: is the evidence where a cardiologist looks?

    python -m ecgcore.explain.wave_eval --data data/ptb-xl [--methods shap lime] [--limit N]

For fold-10 records coded (PTB-XL scp_codes, likelihood > 0) with:
  IMI         share of the MI evidence in II, III, aVF      (uniform map: 3/12 of the leads)
  ASMI, AMI   share of the MI evidence in V1-V4             (uniform: 4/12)
  CLBBB/CRBBB share of the CD evidence in the QRS           (uniform: that record's QRS share of samples)
  LVH         share of the HYP evidence in the QRS          (uniform: as above)
for each model whose map has a time axis (signal, scalogram) and method. Writes the table between
markers in docs/explanations.md. Records whose map has no positive evidence or no beats are counted
and left out. Nothing here chooses a setting: it only describes the shipped models on fold 10.
"""
from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..io.ptbxl import load_index, load_record, parse_codes
from ..models.registry import load_model
from ..signal.delineate import delineate_record
from ..signal.record import CLASSES, MODEL_FS, model_input
from .core import explain
from .mapping import saliency_on_view
from .waves import evidence_by_wave, lead_share, uniform_shares, wave_labels, wave_share

DOC = Path(__file__).resolve().parents[2] / "docs" / "explanations.md"
BEGIN, END = "<!-- wave_eval:begin -->", "<!-- wave_eval:end -->"
CHECKS = (  # (name, codes, class, measure, argument)
    ("IMI: MI evidence in II, III, aVF", ("IMI",), "MI", "leads", ("II", "III", "aVF")),
    ("ASMI/AMI: MI evidence in V1-V4", ("ASMI", "AMI"), "MI", "leads", ("V1", "V2", "V3", "V4")),
    ("CLBBB/CRBBB: CD evidence in the QRS", ("CLBBB", "CRBBB"), "CD", "wave", "QRS"),
    ("LVH: HYP evidence in the QRS", ("LVH",), "HYP", "wave", "QRS"),
)
MODELS = ("signal", "scalogram")


def _share(table, labels, measure: str, arg) -> tuple[float, float]:
    if measure == "leads":
        return lead_share(table, arg), lead_share(uniform_shares(labels), arg)
    return wave_share(table, arg), wave_share(uniform_shares(labels), arg)


def evaluate(data: str | None, methods: tuple[str, ...], limit: int | None, seed: int = 0) -> list[dict]:
    """One row per check x model x method: records, mean share, mean uniform share, share above uniform."""
    index = load_index(data)
    fold10 = index[(index["fold"] == 10) & index["has_100"]]
    codes = {i: parse_codes(s) if isinstance(s, str) else s for i, s in fold10["scp_codes"].items()}
    models = {n: load_model(n) for n in MODELS}
    rows = []
    for name, wanted, cls, measure, arg in CHECKS:
        ids = [i for i, c in codes.items() if any(c.get(w, 0) > 0 for w in wanted)]
        coded = len(ids)
        if limit:
            ids = list(np.random.default_rng(seed).permutation(ids)[:limit])
        found = {(m, meth): [] for m in MODELS for meth in methods}
        skipped = {k: 0 for k in found}
        for i in tqdm(ids, desc=name.split(":")[0]):
            x = model_input(load_record(int(i), 100, data))
            d = delineate_record(x, MODEL_FS)
            labels = wave_labels(d, x.shape[0]) if d.n_beats else None
            for m, meth in found:
                band = saliency_on_view(explain(models[m], x, meth, CLASSES.index(cls), seed=seed,
                                                with_trust=False), "signal")[0]
                if labels is None or band is None or np.clip(band, 0, None).sum() <= 0:
                    skipped[(m, meth)] += 1
                    continue
                found[(m, meth)].append(_share(evidence_by_wave(band, labels), labels, measure, arg))
        for (m, meth), pairs in found.items():
            s = np.asarray(pairs, float).reshape(-1, 2)
            rows.append({"check": name, "model": m, "method": meth, "coded": coded, "sampled": len(ids),
                         "records": len(s),
                         "skipped": skipped[(m, meth)], "share": float(s[:, 0].mean()) if len(s) else np.nan,
                         "uniform": float(s[:, 1].mean()) if len(s) else np.nan,
                         "above_uniform": float((s[:, 0] > s[:, 1]).mean()) if len(s) else np.nan})
    return rows


def markdown(rows: list[dict], command: str) -> str:
    lines = [BEGIN, "## Clinical plausibility on fold 10: evidence by lead and wave", "",
             f"`{command}` (`ecgcore.explain.wave_eval`). For each fold-10 record coded as in the first column, "
             "the share of the map's positive evidence for the class that falls in the leads or wave a "
             "cardiologist reads, against the share a uniform map would give (same record's wave labels). "
             "SHAP maps are per element (10 ms on the signal, 40 ms on the scalogram), so their wave shares are "
             "informative; LIME spreads each segment's score evenly (one second per lead on the signal, "
             "two-second tiles on the scalogram), so its *wave* shares follow the waves' durations and only "
             "its *lead* shares are informative.", "",
             "| check | model | method | records measured (sampled of coded) | mean share | uniform map | "
             "records above uniform |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['check']} | {r['model']} | {r['method'].upper()} | {r['records']} ({r['sampled']} of {r['coded']}) | "
                     f"{r['share']:.1%} | {r['uniform']:.1%} | {r['above_uniform']:.0%} |")
    lines += ["", "Records left out (no beats, or a map with no positive evidence): "
              + ", ".join(f"{r['check'].split(':')[0]} {r['model']} {r['method']}: {r['skipped']}"
                          for r in rows if r["skipped"]) or "none", END]
    return "\n".join(lines)


def write(text: str, doc: Path = DOC) -> None:
    old = doc.read_text()
    if BEGIN in old:
        old = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: text, old, flags=re.S)
    else:
        old = old.rstrip() + "\n\n" + text + "\n"
    doc.write_text(old)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ecgcore.explain.wave_eval", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", help="PTB-XL folder (default $PTBXL_DIR)")
    p.add_argument("--methods", nargs="+", default=["shap", "lime"], choices=["shap", "lime"])
    p.add_argument("--limit", type=int, help="at most N records per check (random, seed 0); default all")
    a = p.parse_args(argv)
    rows = evaluate(a.data, tuple(a.methods), a.limit)
    cmd = "python -m ecgcore.explain.wave_eval" + (f" --data {a.data}" if a.data else "") + \
        f" --methods {' '.join(a.methods)}" + (f" --limit {a.limit}" if a.limit else "")
    text = markdown(rows, cmd)
    write(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
