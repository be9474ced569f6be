"""Markdown for docs/measurements.md from the validation results (see measure_validation)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .ludb import BOUNDARIES, CSE_SD_MS, SENS_TARGET
from ..signal.record import LEADS


def _pct(x: float) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{100 * x:.1f} %"


def _num(x: float, nd: int = 1) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{x:.{nd}f}"


def interval_table(rows: list[dict], target: float) -> list[str]:
    out = ["| check | group (code) | rule | records | measurable | agree | agree / measurable | "
           "agree / all | median | target met |", "|---|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        met = ("yes" if r["share"] >= target else "**no**") if r["target"] else "(no target)"
        met = "n/a (no records)" if not r["measurable"] else met
        out.append(f"| {r['check']} | {r['group']} | {r['rule']} | {r['records']} | {r['measurable']} | "
                   f"{r['agree']} | {_pct(r['share'])} | {_pct(r['share_all'])} | {_num(r['median'])} | {met} |")
    return out


def axis_table(rows: list[dict], confusion: pd.DataFrame, target: float) -> list[str]:
    out = ["| coded heart_axis | records | measurable | computed class agrees | agree / measurable | "
           "agree / all | median computed axis (deg) | target met |", "|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        met = ("yes" if r["share"] >= target else "**no**") if r["scored"] else "(not scored)"
        met = "n/a (no records)" if not r["measurable"] else met
        out.append(f"| {r['group']} | {r['records']} | {r['measurable']} | {r['agree']} | {_pct(r['share'])} | "
                   f"{_pct(r['share_all'])} | {_num(r['median'], 0)} | {met} |")
    scored = [r for r in rows if r["scored"]]
    n_ok, n_agree = sum(r["measurable"] for r in scored), sum(r["agree"] for r in scored)
    out += ["", f"All scored classes together: {n_agree} of {n_ok} measurable records agree ({_pct(n_agree / max(n_ok, 1))}).",
            "", "Confusion (rows: coded, columns: computed; n/m = not measurable):", ""]
    cols = list(confusion.columns)
    out.append("| coded \\ computed | " + " | ".join(map(str, cols)) + " |")
    out.append("|---|" + "---:|" * len(cols))
    for name, row in confusion.iterrows():
        out.append(f"| {name} | " + " | ".join(str(int(v)) for v in row.to_numpy()) + " |")
    return out


def ludb_table(summaries: dict[str, dict]) -> list[str]:
    """summaries: label -> summarize() output."""
    out = ["| delineation | boundary | mean error (ms) | SD (ms) | CSE SD limit | SD met | matched | "
           "sensitivity | PPV | sensitivity target | met |", "|---|---|---:|---:|---:|---|---:|---:|---:|---:|---|"]
    for label, summ in summaries.items():
        for kind, side in BOUNDARIES:
            v = summ[(kind, side)]
            lim = CSE_SD_MS[(kind, side)]
            tgt = SENS_TARGET[kind]
            out.append(f"| {label} | {kind} {side} | {_num(v['mean'])} | {_num(v['sd'])} | {lim} | "
                       f"{'yes' if v['sd'] <= lim else '**no**'} | {v['n']} | {_pct(v['sens'])} | {_pct(v['ppv'])} | "
                       f"{_pct(tgt)} | {'yes' if v['sens'] >= tgt else '**no**'} |")
    return out


def ludb_spread_table(spread: dict, ours: dict) -> list[str]:
    """spread: expert_lead_spread() output; ours: summarize() of our delineation on the same records."""
    out = ["| boundary | experts' per-lead spread around their own median over leads: SD (ms) | n | our SD, "
           "500 Hz, not paced (ms) | CSE SD limit | spread within the limit |", "|---|---:|---:|---:|---:|---|"]
    for b in BOUNDARIES:
        sd = float(np.std(spread[b], ddof=1)) if spread[b].size > 1 else np.nan
        lim = CSE_SD_MS[b]
        out.append(f"| {b[0]} {b[1]} | {_num(sd)} | {spread[b].size} | {_num(ours[b]['sd'])} | {lim} | "
                   f"{'yes' if sd <= lim else '**no**'} |")
    return out


def ludb_lead_table(per_lead: dict[str, dict]) -> list[str]:
    """per_lead: lead -> summarize(total, lead) output; mean +- SD per boundary."""
    heads = [f"{k} {s}" for k, s in BOUNDARIES]
    out = ["| lead | " + " | ".join(heads) + " | sens P / QRS / T |", "|---|" + "---:|" * (len(heads) + 1)]
    for lead in LEADS:
        summ = per_lead[lead]
        cells = [f"{_num(summ[b]['mean'])} +- {_num(summ[b]['sd'])}" for b in BOUNDARIES]
        sens = " / ".join(_pct(summ[(k, s)]["sens"]) for k, s in (("P", "on"), ("QRS", "on"), ("T", "off")))
        out.append(f"| {lead} | " + " | ".join(cells) + f" | {sens} |")
    return out


def neurokit_table(nk: dict, ours: dict) -> list[str]:
    """nk: "method@fs" -> {"P on": {...}}; ours: "own@fs" -> summarize() on the same leads."""
    out = ["| method | boundary | mean (ms) | SD (ms) | sensitivity | PPV |", "|---|---|---:|---:|---:|---:|"]
    for label, summ in list(ours.items()) + list(nk.items()):
        for kind, side in BOUNDARIES:
            v = summ.get((kind, side)) or summ.get(f"{kind} {side}") or {}
            out.append(f"| {label} | {kind} {side} | {_num(v.get('mean', np.nan))} | {_num(v.get('sd', np.nan))} | "
                       f"{_pct(v.get('sens', np.nan))} | {_pct(v.get('ppv', np.nan))} |")
    return out
