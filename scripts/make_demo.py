"""Build `demo/ptb-xl`: about 60 real PTB-XL records shipped with the repository (CC BY 4.0).

    python scripts/make_demo.py                      # from ../shared/ptbxl into demo/ptb-xl
    python scripts/make_demo.py --source DIR --out DIR
    python scripts/make_demo.py --check              # the shipped folder equals what this builds

The app opens this folder when no PTB-XL folder is configured (`ecgcore.io.demo.app_data_dir`), so a
fresh clone shows real records with predictions. The folder keeps PTB-XL's official layout:
`ptbxl_database.csv` (the chosen rows, every column, byte-identical lines), `scp_statements.csv`,
`LICENSE.txt`, `records100/NNNNN/xxxxx_lr.{hea,dat}`, `records500/NNNNN/xxxxx_hr.{hea,dat}`, a
`SHA256SUMS.txt` of its files and a `README.md` with the attribution and the list of records.

Selection (deterministic: a function of the source's metadata and of which signal files it holds;
from ../shared/ptbxl, the partial copy CI uses, it always picks the same records). Only records with
100 Hz signals (what the models read) and at least one diagnostic superclass are candidates.
"Flagged" means a non-empty PTB-XL quality column among baseline_drift, static_noise, burst_noise,
electrodes_problems.
1. Repeat patients: in fold 10, the patients with exactly two candidate records whose superclass
   sets differ; the first `REPEAT_PATIENTS` by patient_id, both records each.
2. Fold 10 (the held-out test fold): `FOLD10_QUOTA` records per superclass combination (the records of
   step 1 count towards their combination). Within a combination, candidates are taken in ecg_id
   order; the first pick (and the third, in combinations with a quota of 5 or more) prefers a record
   that has 500 Hz signals, and its 500 Hz files are copied too; the second pick prefers a record
   with a quality flag; the others prefer records without one (each preference applies when the
   combination has such a record).
3. Outside fold 10, so that the app's "the models saw this fold" note shows: the lowest ecg_id with
   only NORM, only MI and only CD in fold 9 (validation), and with only NORM, only STTC and only HYP
   in folds 1-8 (training).
Only the 500 Hz files of step 2's 500 Hz picks are copied (size budget: 5 MB); the other records'
`filename_hr` rows stay in the metadata without files, as in any partial PTB-XL copy.
"""
from __future__ import annotations

import argparse
import csv
import filecmp
import hashlib
import io
import shutil
import sys
import tempfile
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from ecgcore.io.ptbxl import CLASSES, load_index  # noqa: E402

DEFAULT_SOURCE = REPO.parent / "shared" / "ptbxl"
DEFAULT_OUT = REPO / "demo" / "ptb-xl"
FLAG_COLUMNS = ("baseline_drift", "static_noise", "burst_noise", "electrodes_problems")
REPEAT_PATIENTS = 4
FOLD10_QUOTA = {            # superclass combination -> records from fold 10 (commonest first)
    "NORM": 14, "STTC": 6, "MI": 6, "CD": 5, "MI+CD": 3, "STTC+HYP": 3, "HYP": 3, "STTC+CD": 2,
    "NORM+CD": 2, "MI+HYP": 2, "MI+STTC": 2, "MI+STTC+HYP": 2, "MI+STTC+CD": 2, "MI+STTC+CD+HYP": 1,
    "STTC+CD+HYP": 1,
}
OTHER_FOLDS = (((9,), ("NORM", "MI", "CD")), (tuple(range(1, 9)), ("NORM", "STTC", "HYP")))
SIZE_BUDGET = 5_000_000     # bytes on disk (du), the whole folder
CITATION = ("Wagner P., Strodthoff N., Bousseljot R.-D., Kreiseler D., Lunze F.I., Samek W., Schaeffter T. "
            "*PTB-XL, a large publicly available electrocardiography dataset.* Scientific Data 7:154 (2020), "
            "doi:10.1038/s41597-020-0495-6. Data: Wagner P. et al., *PTB-XL, a large publicly available "
            "electrocardiography dataset*, PhysioNet, doi:10.13026/kfzx-aw45. "
            "Goldberger A. et al., PhysioBank, PhysioToolkit, and PhysioNet, Circulation 101(23):e215-e220 (2000).")


def candidates(index: pd.DataFrame) -> pd.DataFrame:
    """Records with 100 Hz signals and a superclass, with `combo` ('MI+CD') and `flagged` columns."""
    c = index[index["has_100"] & index["has_superclass"]].copy()
    c["combo"] = ["+".join(k for k, on in zip(CLASSES, row) if on) for row in c[list(CLASSES)].to_numpy()]
    c["flagged"] = (c[[f for f in FLAG_COLUMNS if f in c]] != "").any(axis=1)
    return c.sort_index()


def select(index: pd.DataFrame) -> tuple[list[int], list[int]]:
    """(the demo's ecg_ids, those whose 500 Hz files are copied too), sorted, by the rules in this
    module's docstring."""
    c = candidates(index)
    f10 = c[c["fold"] == 10]
    chosen: list[int] = []
    at_500: list[int] = []
    # 1. patients with two ECGs whose labels differ
    pairs = f10.groupby("patient_id")
    for pid in sorted(pairs.groups):
        rows = pairs.get_group(pid)
        if len(rows) == 2 and rows["combo"].nunique() == 2 and len(chosen) < 2 * REPEAT_PATIENTS:
            chosen += [int(i) for i in rows.index]
    # 2. fold 10 per combination
    for combo, quota in FOLD10_QUOTA.items():
        pool = f10[(f10["combo"] == combo) & ~f10.index.isin(chosen)]
        have = int((f10.loc[chosen, "combo"] == combo).sum())
        for pick in range(have, quota):
            if pool.empty:
                break
            wants_500 = pick == 0 or (pick == 2 and quota >= 5)
            prefer = pool["has_500"] if wants_500 else pool["flagged"] if pick == 1 else ~pool["flagged"]
            take = int(pool.index[prefer.to_numpy()][0]) if prefer.any() else int(pool.index[0])
            chosen.append(take)
            if wants_500 and pool.loc[take, "has_500"]:
                at_500.append(take)
            pool = pool.drop(take)
    # 3. a few records the models were trained or tuned on
    for folds, combos in OTHER_FOLDS:
        sub = c[c["fold"].isin(folds)]
        for combo in combos:
            hits = sub.index[sub["combo"] == combo]
            if len(hits):
                chosen.append(int(hits[0]))
    return sorted(set(chosen)), sorted(at_500)


def _rows_csv(source: Path, ids: set[int]) -> str:
    """The source's ptbxl_database.csv restricted to `ids`: header and chosen lines byte-identical."""
    with open(source / "ptbxl_database.csv", newline="") as f:
        rows = list(csv.reader(f))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(rows[0])
    writer.writerows(r for r in rows[1:] if int(r[0]) in ids)
    return buf.getvalue()


def _table(index: pd.DataFrame, ids: list[int], at_500: list[int]) -> str:
    c = candidates(index).loc[ids]
    lines = ["| ecg_id | patient_id | fold | superclasses | 500 Hz | quality flags |", "|---|---|---|---|---|---|"]
    for i, r in c.iterrows():
        flags = ", ".join(f for f in FLAG_COLUMNS if r[f]) or ""
        lines.append(f"| {i} | {int(r['patient_id'])} | {r['fold']} | {r['combo']} | "
                     f"{'yes' if i in at_500 else ''} | {flags} |")
    return "\n".join(lines)


def summary(index: pd.DataFrame, ids: list[int], at_500: list[int]) -> dict:
    c = candidates(index).loc[ids]
    pats = c["patient_id"].value_counts()
    return {"records": len(c), "fold10": int((c["fold"] == 10).sum()), "fold9": int((c["fold"] == 9).sum()),
            "train_folds": int((c["fold"] <= 8).sum()), "at_500": len(at_500),
            "flagged": int(c["flagged"].sum()), "repeat_patients": int((pats >= 2).sum()),
            "repeats": {int(p): c.index[c["patient_id"] == p].tolist() for p in sorted(pats[pats >= 2].index)},
            "per_class": {k: int(c[k].sum()) for k in CLASSES},
            "combinations": c["combo"].value_counts().to_dict()}


def readme(index: pd.DataFrame, ids: list[int], at_500: list[int]) -> str:
    s = summary(index, ids, at_500)
    per_class = ", ".join(f"{k} {n}" for k, n in s["per_class"].items())
    combos = ", ".join(f"{k} {n}" for k, n in s["combinations"].items())
    repeats = "; ".join(f"{p}: {', '.join(map(str, e))}" for p, e in s["repeats"].items())
    doc = __doc__.split("Selection (", 1)[1]
    return f"""# PTB-XL demo subset ({s['records']} records)

A small demo subset of **PTB-XL**, shipped so that `streamlit run app.py` on a fresh clone shows real
ECGs. It is *not* the dataset: PTB-XL has 21,799 records. Get the full dataset with
`python -m ecgcore.io.download` (into `data/ptb-xl`) or point `PTBXL_DIR` at a PTB-XL folder; the app
opens this folder only when neither exists, and no training or evaluation command ever reads it
unless told to.

## Source, licence and attribution

Real, unmodified PTB-XL files (official layout), licensed **CC BY 4.0** (`LICENSE.txt`, the licence
file PTB-XL ships). Cite:

{CITATION}

Changes: only a selection of records; `ptbxl_database.csv` keeps every column and the chosen rows
unchanged; `scp_statements.csv`, `LICENSE.txt` and the signal files are copied byte for byte
(`SHA256SUMS.txt` lists them). Research demo, not for clinical diagnosis.

## What is here

{s['records']} records with 100 Hz signals (`records100/`), {s['at_500']} of them also at 500 Hz (`records500/`).
Folds: {s['fold10']} from fold 10 (held-out test fold), {s['fold9']} from fold 9 (validation), {s['train_folds']} from
folds 1-8 (training). {s['flagged']} carry a PTB-XL quality flag. {s['repeat_patients']} patients have more than
one ECG here (patient_id: ecg_ids): {repeats}.
Records per superclass: {per_class}. Combinations: {combos}.

## Selection ({Path(__file__).name}, deterministic)

Built by `python scripts/make_demo.py` from the partial PTB-XL copy `../shared/ptbxl`
(`--check` verifies that this folder is exactly what the script builds).
Selection ({doc.strip()}

{_table(index, ids, at_500)}
"""


def build(source: Path, out: Path) -> tuple[list[int], list[int]]:
    """Write the demo folder at `out` (replaced) from the PTB-XL folder `source`; returns `select`'s ids."""
    index = load_index(str(source))
    ids, at_500 = select(index)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / "ptbxl_database.csv").write_text(_rows_csv(source, set(ids)))
    for name in ("scp_statements.csv", "LICENSE.txt"):
        shutil.copyfile(source / name, out / name)
    for i in ids:
        row = index.loc[i]
        for col, copy in (("filename_lr", True), ("filename_hr", i in at_500)):
            if copy:
                for ext in (".hea", ".dat"):
                    dst = out / (row[col] + ext)
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(source / (row[col] + ext), dst)
    (out / "README.md").write_text(readme(index, ids, at_500))
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    sums = [f"{hashlib.sha256((out / f).read_bytes()).hexdigest()}  {f}" for f in files]
    (out / "SHA256SUMS.txt").write_text("\n".join(sums) + "\n")
    return ids, at_500


def disk_bytes(path: Path) -> int:
    """Bytes the folder takes on disk, like `du -s` (allocated blocks; at least the apparent size)."""
    total = 0
    for p in [path, *path.rglob("*")]:
        st = p.stat()
        total += max(st.st_blocks * 512, st.st_size if p.is_file() else 0)
    return total


def same_tree(a: Path, b: Path) -> list[str]:
    """Relative paths that differ between two folders (missing on one side or different bytes)."""
    fa = {p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file()}
    fb = {p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file()}
    diff = sorted(fa ^ fb)
    diff += [f for f in sorted(fa & fb) if not filecmp.cmp(a / f, b / f, shallow=False)]
    return diff


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="PTB-XL folder (default ../shared/ptbxl)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check", action="store_true", help="build into a temporary folder and compare with --out")
    args = parser.parse_args(argv)
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            build(args.source, Path(tmp) / "ptb-xl")
            diff = same_tree(Path(tmp) / "ptb-xl", args.out)
        print("identical" if not diff else f"{len(diff)} files differ: {', '.join(diff[:10])}")
        return 1 if diff else 0
    ids, at_500 = build(args.source, args.out)
    s = summary(load_index(str(args.source)), ids, at_500)
    size = disk_bytes(args.out)
    print(f"{args.out}: {s['records']} records, {size / 1e6:.2f} MB on disk (budget {SIZE_BUDGET / 1e6:.0f} MB)")
    print({k: v for k, v in s.items() if k not in ("combinations", "repeats")})
    return 0 if size <= SIZE_BUDGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
