"""How the signal quality check agrees with PTB-XL's own quality columns (reads PTB-XL)."""
from __future__ import annotations

from ..signal.quality import (CLIP_RUN_S, CLIP_RUNS, FLAT_MV, FLAT_S, MAX_BAD_LEADS, NOISE_RATIO, PROBLEM_WORDS,
                              WANDER_HZ, WANDER_MV, QualityReport, assess_quality)
from .ptbxl import load_record

PTBXL_FLAGS = ("electrodes_problems", "burst_noise", "static_noise", "baseline_drift")


def _group_stats(reports: list[QualityReport]) -> dict:
    n = len(reports)
    rate = (lambda k: round(k / n, 4)) if n else (lambda k: None)
    flagged = sum(not r.ok for r in reports)
    not_assessable = sum(not r.assessable for r in reports)
    leads_ok = sum(q.ok for r in reports for q in r.leads)
    codes = {c: sum(bool(r.problems(c)) for r in reports) for c in PROBLEM_WORDS}
    return {"records": n, "flagged": flagged, "flagged_rate": rate(flagged),
            "not_assessable": not_assessable, "not_assessable_rate": rate(not_assessable),
            "leads_ok_rate": round(leads_ok / (12 * n), 4) if n else None,
            "by_code": codes, "by_code_rate": {c: rate(k) for c, k in codes.items()}}


def validate_against_ptbxl(index, ids, fs: int = 100) -> dict:
    """How `assess_quality` agrees with PTB-XL's own quality annotations.

    index: `ecgcore.io.ptbxl.load_index()`; ids: ecg_ids to check (those without signal files
    at `fs` are skipped and counted). Groups: one per column of PTBXL_FLAGS (a record can be
    in several) and 'unflagged' (none of the four). Per group: records, flagged (>= 1 lead
    with a problem), not_assessable, leads_ok_rate, by_code (records with that problem), rates.
    Reads every record (about 10-100 ms each): use a subset in tests.
    """
    has = index["has_100" if fs == 100 else "has_500"]
    ids = [int(i) for i in ids]
    unknown = [i for i in ids if i not in index.index]
    if unknown:
        raise KeyError(f"ecg_ids not in the PTB-XL index: {unknown[:5]}")
    keep = [i for i in ids if has.loc[i]]
    reports = {i: assess_quality(load_record(i, fs, index.attrs.get("root")).signal, fs)
               for i in keep}
    flags = index.loc[keep, list(PTBXL_FLAGS)] != ""
    groups = {col: _group_stats([reports[i] for i in flags.index[flags[col]]]) for col in PTBXL_FLAGS}
    groups["unflagged"] = _group_stats([reports[i] for i in flags.index[~flags.any(axis=1)]])
    groups["any_flag"] = _group_stats([reports[i] for i in flags.index[flags.any(axis=1)]])
    return {"fs": fs, "records": len(keep), "skipped_no_signal": len(ids) - len(keep),
            "thresholds": {"flat_mv": FLAT_MV, "flat_s": FLAT_S, "clip_run_s": CLIP_RUN_S,
                           "clip_runs": CLIP_RUNS, "wander_hz": WANDER_HZ, "wander_mv": WANDER_MV,
                           "noise_ratio": NOISE_RATIO, "max_bad_leads": MAX_BAD_LEADS},
            "groups": groups}
