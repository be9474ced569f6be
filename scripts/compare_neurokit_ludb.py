"""NeuroKit2's single-lead delineation on LUDB, scored like ours (ecgcore.io.ludb.score_record).

NeuroKit2 is not a project dependency; install it aside and point PYTHONPATH at it:

    pip install --no-deps --target /tmp/nklib neurokit2==0.3.0
    PYTHONPATH=/tmp/nklib:. python scripts/compare_neurokit_ludb.py --ludb ../shared/ludb --out nk_ludb.json

Runs `ecg_clean`, `ecg_peaks` and `ecg_delineate(method=m)` lead by lead on I, II, V2, V5, for
m in dwt, peak, prominence, at 500 Hz and resampled to 100 Hz (about 15 min on 2 cores).
Then `python -m ecgcore.io.measure_validation --neurokit-json nk_ludb.json` puts the table in
docs/measurements.md.
"""
from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np

from ecgcore.io.ludb import load_ludb, ludb_ids, score_record, summarize
from ecgcore.signal.delineate import FIELDS, Delineation
from ecgcore.signal.record import LEADS, resample

LEAD_SUBSET = ("I", "II", "V2", "V5")
KEYMAP = {"p_on": "ECG_P_Onsets", "p_peak": "ECG_P_Peaks", "p_off": "ECG_P_Offsets", "qrs_on": "ECG_R_Onsets",
          "qrs_off": "ECG_R_Offsets", "t_peak": "ECG_T_Peaks", "t_off": "ECG_T_Offsets"}


def nk_peaks(nk, x: np.ndarray, fs: int) -> tuple[np.ndarray, np.ndarray]:
    """(R peaks, cleaned lead) by NeuroKit2's defaults."""
    clean = nk.ecg_clean(x.astype(float), sampling_rate=fs)
    _, rp = nk.ecg_peaks(clean, sampling_rate=fs)
    r = np.asarray(rp["ECG_R_Peaks"], int)
    return r, clean


def main() -> None:
    import neurokit2 as nk
    warnings.filterwarnings("ignore")
    p = argparse.ArgumentParser()
    p.add_argument("--ludb", default=None)
    p.add_argument("--out", default="nk_ludb.json")
    p.add_argument("--limit", type=int, default=0, help="first N records only (smoke test)")
    args = p.parse_args()
    ids = ludb_ids(args.ludb)
    recs = [load_ludb(n, args.ludb) for n in (ids[:args.limit] if args.limit else ids)]
    out = {}
    for fs in (500, 100):
        for method in ("dwt", "peak", "prominence"):
            total, t0, fails = {}, time.time(), 0
            for rec in recs:
                sig = rec.signal if fs == rec.fs else resample(rec.signal, rec.fs, fs)
                for lead in LEAD_SUBSET:
                    li = LEADS.index(lead)
                    try:
                        r, clean = nk_peaks(nk, sig[:, li], fs)
                        _, waves = nk.ecg_delineate(clean, r, sampling_rate=fs, method=method)
                    except Exception:       # NeuroKit2 raises on some records; counted, not hidden
                        fails += 1
                        continue
                    per = {f: np.full((len(r), 12), np.nan) for f in FIELDS}
                    for f, key in KEYMAP.items():
                        v = np.asarray(waves.get(key, [np.nan] * len(r)), float)
                        if v.size == len(r):
                            per[f][:, li] = v
                    d = Delineation(fs=fs, r_peaks=r, qrs_on=per["qrs_on"][:, li], qrs_off=per["qrs_off"][:, li],
                                    t_off=per["t_off"][:, li], per_lead=per)
                    for key, s in score_record(rec, d, rec.fs / fs).items():
                        if key[1] != lead:
                            continue
                        tt = total.setdefault(key, {"expert": 0, "found": 0, "matched": 0, "on": [], "off": []})
                        for f in ("expert", "found", "matched"):
                            tt[f] += s[f]
                        tt["on"] += s["on"]
                        tt["off"] += s["off"]
            summ = summarize(total)
            out[f"NeuroKit2 {method}@{fs}"] = {f"{k} {s}": v for (k, s), v in summ.items()}
            out[f"NeuroKit2 {method}@{fs}"]["failed_leads"] = fails
            print(method, fs, f"{time.time() - t0:.0f} s, {fails} lead runs failed", flush=True)
            json.dump(out, open(args.out, "w"), indent=1)


if __name__ == "__main__":
    main()
