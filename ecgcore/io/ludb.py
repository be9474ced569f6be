"""LUDB (expert wave boundaries, 12 leads at 500 Hz) and the scoring of a delineator against it.

    rec = load_ludb(1, root)                    # Record at 500 Hz; rec.meta["waves"][lead] = expert waves
    score = score_ludb(root, fs=100)            # errors, sensitivity, PPV per boundary and lead

Matching rule: per lead, an expert wave (P, QRS or T; onset..offset) and a detected wave of the
same kind match when their intervals overlap (nearest centre wins, one to one). Sensitivity =
matched expert waves / expert waves; PPV = matched detected waves / detected waves, counting only
detected waves inside the span the experts annotated in that lead (LUDB leaves the first and last
beats unmarked). Boundary errors (detected - expert, ms) are taken over matched pairs.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import numpy as np
import wfdb

from ..signal.delineate import Delineation, delineate_record
from ..signal.record import LEADS, Record, normalize_lead_name, resample

REPO_ROOT = Path(__file__).resolve().parents[2]
KINDS = {"p": "P", "N": "QRS", "t": "T"}
BOUNDARIES = (("P", "on"), ("P", "off"), ("QRS", "on"), ("QRS", "off"), ("T", "off"))
CSE_SD_MS = {("P", "on"): 10.2, ("P", "off"): 12.7, ("QRS", "on"): 6.5, ("QRS", "off"): 11.6,
             ("T", "off"): 30.6}
SENS_TARGET = {"P": 0.90, "QRS": 0.95, "T": 0.90}


def ludb_dir(path: str | os.PathLike | None = None) -> Path:
    """The LUDB folder: `path`, else $LUDB_DIR, else ../shared/ludb beside the repo."""
    return Path(path or os.environ.get("LUDB_DIR") or REPO_ROOT.parent / "shared" / "ludb").resolve()


def ludb_ids(path: str | os.PathLike | None = None) -> list[int]:
    """Record numbers present (sorted)."""
    data = ludb_dir(path) / "data"
    return sorted(int(p.stem) for p in data.glob("*.hea") if p.stem.isdigit())


def _waves(stem: str, ext: str) -> list[tuple[str, int, int, int]]:
    """[(kind, on, peak, off)] in samples from one lead's annotation file."""
    ann = wfdb.rdann(stem, ext)
    sym, smp = list(ann.symbol), np.asarray(ann.sample)
    waves = []
    for i, s in enumerate(sym):
        if s in KINDS and 0 < i < len(sym) - 1 and sym[i - 1] == "(" and sym[i + 1] == ")":
            waves.append((KINDS[s], int(smp[i - 1]), int(smp[i]), int(smp[i + 1])))
    return waves


def load_ludb(number: int, path: str | os.PathLike | None = None) -> Record:
    """LUDB record `number` as a Record (500 Hz, mV, LEADS order); expert waves in
    meta["waves"][lead] as (kind, on, peak, off) samples, meta["lead_files"] lead -> extension."""
    root = ludb_dir(path)
    stem = root / "data" / str(int(number))
    if not stem.with_suffix(".hea").is_file():
        raise FileNotFoundError(f"LUDB record {number} not found in {root / 'data'}; "
                                "set LUDB_DIR or pass the folder holding data/")
    signal, fields = wfdb.rdsamp(str(stem))
    names = [normalize_lead_name(n) for n in fields["sig_name"]]
    order = [names.index(lead) for lead in LEADS]
    exts = {names[i]: fields["sig_name"][i] for i in range(len(names))}
    waves = {lead: _waves(str(stem), exts[lead]) for lead in LEADS}
    return Record(signal=np.ascontiguousarray(signal[:, order], dtype=np.float32),
                  fs=float(fields["fs"]), source="ludb",
                  meta={"ludb": int(number), "waves": waves, "lead_files": exts})


def detected_waves(d: Delineation, lead_index: int, scale: float = 1.0) -> list[tuple[str, float, float]]:
    """[(kind, on, off)] for one lead, in samples x `scale` (NaN where a boundary is missing)."""
    out = []
    L = d.per_lead
    for k in range(d.n_beats):
        p_on, p_off = L["p_on"][k, lead_index], L["p_off"][k, lead_index]
        if np.isfinite(p_on) or np.isfinite(p_off):
            out.append(("P", p_on * scale, p_off * scale))
        q_on, q_off = L["qrs_on"][k, lead_index], L["qrs_off"][k, lead_index]
        if np.isfinite(q_on) or np.isfinite(q_off):
            out.append(("QRS", q_on * scale, q_off * scale))
        t_off = L["t_off"][k, lead_index]
        if np.isfinite(t_off):
            t_pk = L["t_peak"][k, lead_index]
            start = t_pk if np.isfinite(t_pk) else (q_off + 0.1 * d.fs if np.isfinite(q_off) else t_off - 0.2 * d.fs)
            out.append(("T", start * scale, t_off * scale))
    return out


def _match(expert: list, found: list) -> list[tuple[int, int]]:
    pairs, used = [], set()
    for i, (_, e_on, _, e_off) in enumerate(expert):
        best, best_d = None, np.inf
        e_mid = 0.5 * (e_on + e_off)
        for j, (_, f_on, f_off) in enumerate(found):
            if j in used:
                continue
            a = f_on if np.isfinite(f_on) else f_off
            b = f_off if np.isfinite(f_off) else f_on
            if a <= e_off and b >= e_on:
                dist = abs(0.5 * (a + b) - e_mid)
                if dist < best_d:
                    best, best_d = j, dist
        if best is not None:
            used.add(best)
            pairs.append((i, best))
    return pairs


def score_record(rec: Record, d: Delineation, scale: float) -> dict:
    """Per (kind, lead): expert count, detected count, matched count, and error lists (ms)
    per boundary. `scale` maps d's samples to rec's samples."""
    ms = 1000.0 / rec.fs
    out: dict = {}
    for li, lead in enumerate(LEADS):
        expert_all = rec.meta["waves"][lead]
        if not expert_all:
            continue
        span = (min(w[1] for w in expert_all) - 0.05 * rec.fs, max(w[3] for w in expert_all) + 0.05 * rec.fs)
        found_all = detected_waves(d, li, scale)
        for kind in ("P", "QRS", "T"):
            expert = [w for w in expert_all if w[0] == kind]
            found = [w for w in found_all if w[0] == kind
                     and span[0] <= np.nanmean([w[1], w[2]]) <= span[1]]
            pairs = _match(expert, found)
            s = out.setdefault((kind, lead), {"expert": 0, "found": 0, "matched": 0, "on": [], "off": []})
            s["expert"] += len(expert)
            s["found"] += len(found)
            s["matched"] += len(pairs)
            for i, j in pairs:
                for side, e_val, f_val in (("on", expert[i][1], found[j][1]), ("off", expert[i][3], found[j][2])):
                    if np.isfinite(f_val):
                        s[side].append((f_val - e_val) * ms)
    return out


def score_ludb(path: str | os.PathLike | None = None, fs: int = 500, numbers: list[int] | None = None,
               delineate: Callable[[np.ndarray, float], Delineation] = delineate_record,
               progress: bool = False) -> dict:
    """Pool `score_record` over LUDB records, delineating at `fs` (500 native or resampled).
    Returns {(kind, lead): {...}} with error lists in ms."""
    numbers = numbers or ludb_ids(path)
    total: dict = {}
    it = numbers
    if progress:
        from tqdm import tqdm
        it = tqdm(numbers, desc=f"LUDB at {fs} Hz", unit="rec")
    for number in it:
        rec = load_ludb(number, path)
        sig = rec.signal if fs == rec.fs else resample(rec.signal, rec.fs, fs)
        d = delineate(sig, fs)
        for key, s in score_record(rec, d, rec.fs / fs).items():
            t = total.setdefault(key, {"expert": 0, "found": 0, "matched": 0, "on": [], "off": []})
            for f in ("expert", "found", "matched"):
                t[f] += s[f]
            t["on"] += s["on"]
            t["off"] += s["off"]
    return total


def summarize(total: dict, leads: str | tuple[str, ...] | None = None) -> dict:
    """{(kind, side): {mean, sd, n, sens, ppv}} pooled over all leads (or over `leads`)."""
    res = {}
    leads = (leads,) if isinstance(leads, str) else leads
    for kind, side in BOUNDARIES:
        keys = [k for k in total if k[0] == kind and (leads is None or k[1] in leads)]
        errs = np.concatenate([np.asarray(total[k][side], float) for k in keys]) if keys else np.array([])
        exp = sum(total[k]["expert"] for k in keys)
        fnd = sum(total[k]["found"] for k in keys)
        mat = sum(total[k]["matched"] for k in keys)
        res[(kind, side)] = {"mean": float(errs.mean()) if errs.size else np.nan,
                             "sd": float(errs.std(ddof=1)) if errs.size > 1 else np.nan, "n": int(errs.size),
                             "sens": mat / exp if exp else np.nan, "ppv": mat / fnd if fnd else np.nan}
    return res


def expert_lead_spread(path: str | os.PathLike | None = None, numbers: list[int] | None = None,
                       min_leads: int = 10) -> dict[tuple[str, str], np.ndarray]:
    """How far the experts' own per-lead boundaries lie from their median over leads, in ms.

    For every wave the experts marked in lead II, the same wave in each lead (overlapping interval,
    `min_leads` leads or more) gives per-lead boundary minus the median over those leads. A method
    that gives every lead of a beat one boundary (ours for P and QRS) scores, per lead, at least this
    spread even when it finds the experts' median exactly. Returns {(kind, side): errors (n,) ms}.
    """
    numbers = numbers or ludb_ids(path)
    out: dict[tuple[str, str], list] = {b: [] for b in BOUNDARIES}
    for number in numbers:
        rec = load_ludb(number, path)
        waves, ms = rec.meta["waves"], 1000.0 / rec.fs
        for kind in ("P", "QRS", "T"):
            for ref in (w for w in waves["II"] if w[0] == kind):
                same = [next((w for w in waves[lead] if w[0] == kind and w[1] <= ref[3] and w[3] >= ref[1]), None)
                        for lead in LEADS]
                same = [w for w in same if w is not None]
                if len(same) < min_leads:
                    continue
                for side, col in (("on", 1), ("off", 3)):
                    if (kind, side) in out:
                        v = np.array([w[col] for w in same], float) * ms
                        out[(kind, side)] += list(v - np.median(v))
    return {k: np.asarray(v, float) for k, v in out.items()}
