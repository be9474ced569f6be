"""Hostile-input fuzzing of `read_upload` with mutations of real PTB-XL records.

    python -m ecgcore.fuzz --cases 50000 [--seed 0] [--timeout 20] [--trace-every 50]

Seeds are real PTB-XL files (the original .hea/.dat bytes, other WFDB formats written
from the same signals, CSV and NPY exports); each case stacks 1-3 random mutations
(truncation, bit flips, header field edits, lead renames, ragged CSV, pickled NPY, ...).
Every case must end in a valid Record or an UploadError: an unhandled exception, a case
over --timeout or an invalid Record is a failure and makes the exit status 1.
"""
from __future__ import annotations

import io
import pickle
import random
import re
import tempfile
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .checks import MAX_FS, MAX_SECONDS, MAX_UPLOAD_MB, MIN_FS, MIN_SECONDS, UploadError, parse_header
from .record import MODEL_SAMPLES, model_input
from .readers import read_upload

CSV_NAMES = ["I", "II", "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6"]
FS_POOL = [None, 0, -1, 1e-3, 49.9, 50, 100, 100.0, 250, 257.3, 500, 1000, 10000, 10001, 1e9,
           float("nan"), float("inf"), "500", "abc", True]
TOKENS = ["0", "-1", "1", "11", "12", "13", "15", "1000000000", "99999999999999999999999", "1e9",
          "nan", "inf", "abc", "../../x.dat", "/etc/passwd", "x.dat", "8", "16", "61", "80", "160",
          "212", "310", "311", "508", "16x2", "16:3", "16+100", "16+24", "0(0)/mV", "200",
          "1000.0(0)/uV", "1000.0(0)/µV", "1000.0(0)/V", "1000.0(0)/NU", "1000(0)", "-1000.0(5)/mV",
          "1e-30(0)/mV", "1e300(0)/mV", "rec/2", "100/1000(0)", "0.5", "10000", "10001",
          "12:00:00", "99:99:99", "01/01/2000", "AVR", "avr", "V4R", "X", "foo", "aVR aVL", "µV",
          "\u202e", "\x00", "é"]
CELLS = ["abc", "", "nan", "inf", "-inf", "1e309", "0x10", "1,5", '"1.0"', " ", "1_0", "١٢", "∞",
         "None", "--1", "1e5", "1e-300", "+.5", "'", '"', "#"]
NAMES = ["../../x.hea", "/etc/passwd", "a\\b.csv", "x\x00.csv", "", ".", "..", "x.txt", "x.edf",
         "x.HEA", "x.DAT", "X.CSV", "x.npz", "noext", ".csv", "é.csv", "x" * 300 + ".csv", "x.csv.npy"]


@dataclass
class Case:
    """One upload: files as the app passes them, fs, the mutations applied, the seed signal."""
    files: list[tuple[str, bytes]]
    fs: object = None
    label: str = ""
    base: np.ndarray | None = field(default=None, repr=False)   # (T, 12) mV of the seed

    @property
    def kind(self) -> str:
        exts = {n.rpartition(".")[2].lower() for n, _ in self.files}
        return "wfdb" if exts & {"hea", "dat"} else "csv" if "csv" in exts else "npy"


# ---------------------------------------------------------------- seeds

def _csv_bytes(x: np.ndarray, fs: float) -> bytes:
    buf = io.StringIO()
    t = np.arange(len(x)) / fs
    np.savetxt(buf, np.column_stack([t, x]), fmt="%.4f", delimiter=",",
               header=",".join(["time"] + CSV_NAMES), comments="")
    return buf.getvalue().encode()


def _npy_bytes(x: np.ndarray, **kw) -> bytes:
    buf = io.BytesIO()
    np.save(buf, x, **kw)
    return buf.getvalue()


def _wrsamp_pair(x: np.ndarray, fs: float, fmt: str) -> list[tuple[str, bytes]]:
    """A real signal written by wfdb.wrsamp in `fmt`, as upload bytes."""
    import wfdb
    with tempfile.TemporaryDirectory() as tmp:
        wfdb.wrsamp("rec", fs=fs, units=["mV"] * 12, sig_name=CSV_NAMES, p_signal=x.astype(np.float64),
                    fmt=[fmt] * 12, write_dir=tmp)
        return [("rec.hea", (Path(tmp) / "rec.hea").read_bytes()),
                ("rec.dat", (Path(tmp) / "rec.dat").read_bytes())]


def _refmt16(files: list[tuple[str, bytes]], fmt: str) -> list[tuple[str, bytes]]:
    """A format-16 pair re-encoded as 61 (big-endian) or 160 (offset binary): same samples."""
    (hn, hea), (dn, dat) = files
    d = np.frombuffer(dat, "<i2")
    out = d.astype(">i2") if fmt == "61" else (d.astype(np.int32) + 32768).astype("<u2")
    hea = re.sub(rb"(?m)^(\S+\.dat) 16 ", rb"\1 " + fmt.encode() + b" ", hea)
    return [(hn, hea), (dn, out.tobytes())]


def load_seeds(n_records: int = 2) -> list[Case]:
    """Valid uploads made from real PTB-XL records (needs PTBXL_DIR)."""
    from .ptbxl import load_index, load_record
    index = load_index()
    ids = index.index[index["has_100"] & index["has_500"]][:n_records]
    root, seeds = Path(index.attrs["root"]), []
    for ecg_id in ids:
        for fs, col in ((100, "filename_lr"), (500, "filename_hr")):
            stem = root / index.loc[ecg_id, col]
            raw = [(stem.name + ".hea", stem.with_suffix(".hea").read_bytes()),
                   (stem.name + ".dat", stem.with_suffix(".dat").read_bytes())]
            x = load_record(int(ecg_id), fs=fs).signal
            lr_raw = raw if fs == 100 else lr_raw
            seeds += [Case(raw, None, f"wfdb16@{fs}", x),
                      Case([("ecg.csv", _csv_bytes(x, fs))], fs, f"csv@{fs}", x),
                      Case([("ecg.npy", _npy_bytes(x if fs == 100 else x.T.astype(np.float64)))],
                           fs, f"npy@{fs}", x)]
        x = load_record(int(ecg_id), fs=100).signal
        seeds += [Case(_wrsamp_pair(x, 100, f), None, f"wfdb{f}@100", x) for f in ("212", "80", "24")]
        seeds += [Case(_refmt16(lr_raw, f), None, f"wfdb{f}@100", x) for f in ("61", "160")]
    return seeds


# ---------------------------------------------------------------- mutations

def _pick(rng: random.Random, case: Case, ext: str | None = None) -> int | None:
    idx = [i for i, (n, _) in enumerate(case.files) if ext is None or n.lower().endswith("." + ext)]
    return rng.choice(idx) if idx else None


def _set(case: Case, i: int, data: bytes | None = None, name: str | None = None) -> Case:
    files = list(case.files)
    n, d = files[i]
    files[i] = (n if name is None else name, d if data is None else data)
    return replace(case, files=files)


def m_truncate(rng, case):
    i = _pick(rng, case)
    d = case.files[i][1]
    return _set(case, i, d[: rng.choice([0, 1, rng.randrange(len(d) + 1), len(d) - 1, len(d) // 2])])


def m_pad(rng, case):
    i = _pick(rng, case)
    d = case.files[i][1]
    tail = rng.choice([b"\x00" * rng.randrange(1, 64), rng.randbytes(rng.randrange(1, 5000)), d, b"\n"])
    return _set(case, i, d + tail)


def m_bitflip(rng, case):
    i = _pick(rng, case)
    d = bytearray(case.files[i][1])
    for _ in range(rng.choice([1, 1, 2, 8, 64])):
        if d:
            d[rng.randrange(len(d))] ^= 1 << rng.randrange(8)
    return _set(case, i, bytes(d))


def m_splice(rng, case):
    i = _pick(rng, case)
    d = case.files[i][1]
    at = rng.randrange(len(d) + 1)
    junk = rng.choice([rng.randbytes(rng.randrange(1, 40)), b"\xff\xfe", b"\xc3", b"\r\n", b",", b";",
                       b"\t", b"#", b"\x00", "µ".encode("latin-1")])
    return _set(case, i, d[:at] + junk + d[at + rng.choice([0, 0, 1, 10]):])


def m_rename(rng, case):
    return _set(case, _pick(rng, case), name=rng.choice(NAMES))


def m_files(rng, case):
    files = list(case.files)
    op = rng.choice(["drop", "dup", "empty", "none", "garbage", "enormous"])
    i = rng.randrange(len(files))
    if op == "drop":
        files.pop(i)
    elif op == "dup":
        files.append(files[i])
    elif op == "empty":
        files[i] = (files[i][0], b"")
    elif op == "none":
        files = []
    elif op == "garbage":
        files[i] = (files[i][0], rng.randbytes(rng.randrange(1, 3000)))
    else:
        files[i] = (files[i][0], _enormous())
    return replace(case, files=files)


_BIG: list[bytes] = []


def _enormous() -> bytes:
    """A file one byte over the cap (made once)."""
    if not _BIG:
        _BIG.append(b"0" * (MAX_UPLOAD_MB * 2**20 + 1))
    return _BIG[0]


def m_fs(rng, case):
    return replace(case, fs=rng.choice(FS_POOL))


def m_mix(rng, case, seeds):
    other = rng.choice(seeds)
    return replace(case, files=case.files + [rng.choice(other.files)])


def m_swap_pair(rng, case, seeds):
    """A mismatched WFDB pair: this header with another seed's .dat (same name)."""
    other = rng.choice([s for s in seeds if s.kind == "wfdb"])
    i, j = _pick(rng, case, "dat"), _pick(rng, other, "dat")
    return case if i is None else _set(case, i, other.files[j][1])


def _text_edit(rng, case, ext, edit):
    i = _pick(rng, case, ext)
    if i is None or len(case.files[i][1]) > 2**20:
        return case
    text = case.files[i][1].decode("utf-8", "replace")
    return _set(case, i, edit(text).encode("utf-8", "surrogatepass"))


def m_header_field(rng, case):
    def edit(text):
        lines = text.splitlines()
        k = rng.randrange(len(lines)) if lines else 0
        tok = lines[k].split(" ") if lines else [""]
        j = rng.randrange(len(tok))
        op = rng.choice(["token", "token", "tweak", "delete", "insert"])
        if op == "token":
            tok[j] = rng.choice(TOKENS)
        elif op == "tweak" and re.fullmatch(r"-?\d{1,30}", tok[j]):
            tok[j] = str(int(tok[j]) * rng.choice([-1, 0, 2, 10, 1000]) + rng.choice([-1, 0, 1]))
        elif op == "delete":
            tok.pop(j)
        else:
            tok.insert(j, rng.choice(TOKENS))
        lines[k:k + 1] = [" ".join(tok)]
        return "\n".join(lines) + "\n"
    return _text_edit(rng, case, "hea", edit)


def m_header_lines(rng, case):
    def edit(text):
        lines = text.splitlines()
        if not lines:
            return text
        k = rng.randrange(1, len(lines)) if len(lines) > 1 else 0
        op = rng.choice(["drop", "dup", "swap", "comment", "crlf", "bom", "tabs", "lead", "blank"])
        if op == "drop":
            lines.pop(k)
        elif op == "dup":
            lines.insert(k, lines[k])
        elif op == "swap":
            j = rng.randrange(len(lines))
            lines[k], lines[j] = lines[j], lines[k]
        elif op == "comment":
            lines.insert(rng.randrange(len(lines) + 1), "# age: 61 " + rng.choice(TOKENS))
        elif op == "crlf":
            return "\r\n".join(lines)
        elif op == "bom":
            return "\ufeff" + text
        elif op == "tabs":
            return text.replace(" ", "\t")
        elif op == "lead" and lines:
            tok = lines[k].rsplit(" ", 1)
            lines[k] = tok[0] + " " + rng.choice(CSV_NAMES + ["foo", "V4R", "avl", "Vx", "", "I I"])
        else:
            lines.insert(k, "")
        return "\n".join(lines) + "\n"
    return _text_edit(rng, case, "hea", edit)


def m_dat_values(rng, case):
    """Format-16 samples edited (NaN run, flat, x100, column swap), checksums made consistent."""
    ih, idat = _pick(rng, case, "hea"), _pick(rng, case, "dat")
    if ih is None or idat is None:
        return case
    try:
        header = parse_header("x.hea", case.files[ih][1])
    except UploadError:
        return case
    dat = case.files[idat][1]
    if {s["fmt"] for s in header["signals"]} != {"16"} or len(header["signals"]) != 12 \
            or len(dat) % 24 or not dat:
        return case
    d = np.frombuffer(dat, "<i2").reshape(-1, 12).astype(np.int32)
    t, j = len(d), rng.randrange(12)
    a = rng.randrange(t)
    b = min(t, a + rng.choice([1, 10, t // 4, t]))
    op = rng.choice(["nan", "flat", "scale", "swap", "zero"])
    if op == "nan":
        d[a:b, j] = -32768
    elif op == "flat":
        d[a:b, j] = d[a, j]
    elif op == "scale":
        d[:, j] = np.clip(d[:, j] * 100, -32767, 32767)
    elif op == "swap":
        d[:, [j, (j + 1) % 12]] = d[:, [(j + 1) % 12, j]]
    else:
        d[:, j] = 0
    sums = d.sum(axis=0) % 65536
    lines, k = case.files[ih][1].decode().splitlines(), 0
    for n, line in enumerate(lines):
        tok = line.split(" ")
        if n and not line.startswith("#") and len(tok) >= 9 and k < 12:
            tok[6], k = str(int(sums[k])), k + 1
            lines[n] = " ".join(tok)
    case = _set(case, ih, ("\n".join(lines) + "\n").encode())
    return _set(case, idat, d.astype("<i2").tobytes())


def m_csv(rng, case):
    def edit(text):
        rows = [r.split(",") for r in text.splitlines()] or [[""]]
        op = rng.choice(["cell", "cell", "noheader", "ragged", "delim", "decimal", "cols1", "cols15",
                         "dropcol", "dupcol", "rename", "scale", "flat", "rows", "blank", "crlf",
                         "bom", "quote", "longline", "headeronly"])
        r, c = rng.randrange(len(rows)), rng.randrange(len(rows[0]))
        if op == "cell" and c < len(rows[r]):
            rows[r][c] = rng.choice(CELLS)
        elif op == "noheader":
            rows = rows[1:]
        elif op == "ragged":
            rows[r] = rows[r][:-1] if rng.random() < 0.5 else rows[r] + ["0.1"]
        elif op == "delim":
            return text.replace(",", rng.choice([";", "\t", " ", "|"]))
        elif op == "decimal":
            return text.replace(",", ";").replace(".", ",")
        elif op == "cols1":
            rows = [row[c:c + 1] for row in rows]
        elif op == "cols15":
            rows = [row + (["X", "Y", "Z"] if i == 0 else row[1:4]) for i, row in enumerate(rows)]
        elif op in ("dropcol", "dupcol"):
            rows = [row[:c] + row[c + 1:] if op == "dropcol" else row + row[c:c + 1] for row in rows]
        elif op == "rename":
            rows[0][c] = rng.choice(["avr", "aVR", "V4R", "foo", "", "Lead II", "D1", "I"])
        elif op in ("scale", "flat") and c > 0:
            for row in rows[1:]:
                if c < len(row) and re.fullmatch(r"-?\d+\.?\d*", row[c]):
                    row[c] = "0.5" if op == "flat" else str(float(row[c]) * rng.choice([1000, 1e-3]))
        elif op == "rows":
            n = rng.choice([2, 100, 499, len(rows) // 2, len(rows) * 3, len(rows) * 7])
            rows = rows[:1] + (rows[1:] * 8)[:n]
        elif op == "blank":
            rows.insert(r, [""])
        elif op in ("crlf", "bom", "quote", "longline", "headeronly"):
            body = "\n".join(",".join(row) for row in rows)
            return {"crlf": body.replace("\n", "\r\n"), "bom": "\ufeff" + body,
                    "quote": body.replace(",", '","'), "headeronly": body.split("\n")[0],
                    "longline": body + "\n" + ",".join(["1.0"] * 5000)}[op]
        return "\n".join(",".join(row) for row in rows) + "\n"
    return _text_edit(rng, case, "csv", edit)


def m_npy(rng, case):
    """A new .npy from the seed signal: odd dtypes, shapes, pickles, header edits, scaling."""
    i = _pick(rng, case, "npy")
    if i is None or case.base is None:
        return case
    x = case.base
    op = rng.choice(["dtype", "shape", "pickle", "objsave", "header", "scale", "nan", "fortran", "npz"])
    if op == "dtype":
        dt = rng.choice([np.float16, np.int16, np.uint8, np.int64, np.complex64, np.bool_, "<U8",
                         ">f8", [("a", "<f4"), ("b", "<f4")], "datetime64[s]"])
        try:
            data = _npy_bytes(x.astype(dt) if not isinstance(dt, list) else np.zeros(len(x), dt))
        except (TypeError, ValueError):
            return case
    elif op == "shape":
        shapes = [(x.size,), (len(x), 12, 1), (len(x) * 12 // 15, 15), (12, 12), (1, 12), (0, 12),
                  (len(x) * 12 // 11, 11), (12, len(x))]
        s = rng.choice(shapes)
        data = _npy_bytes(x.ravel()[: int(np.prod(s))].reshape(s))
    elif op == "pickle":
        data = pickle.dumps(x)
    elif op == "objsave":
        data = _npy_bytes(np.array([x, "x"], dtype=object), allow_pickle=True)
    elif op == "header":
        data = _npy_bytes(x)
        head = rng.choice([b"(1000000000, 12)", b"(12, 1000000000)", b"(-1, 12)", b"(1000, 12, 0)",
                           b"()", b"(99999999999999999999999, 12)"])
        data = re.sub(rb"\(\d+, 12\)", head.ljust(len(re.search(rb"\(\d+, 12\)", data)[0])), data, 1)
        data = data.replace(b"'<f4'", rng.choice([b"'|O' ", b"'<f8'", b"'>f4'", b"'<c8'", b"'xx' "]))
    elif op == "scale":
        data = _npy_bytes(x * rng.choice([1000.0, 1e-3, 0.0, 1e30]))
    elif op == "nan":
        y = x.copy()
        a = rng.randrange(len(y))
        y[a:a + rng.choice([1, 50, 5000]), rng.randrange(12)] = rng.choice([np.nan, np.inf])
        data = _npy_bytes(y)
    elif op == "fortran":
        data = _npy_bytes(np.asfortranarray(x))
    else:
        buf = io.BytesIO()
        np.savez(buf, x=x)
        data = buf.getvalue()
    return _set(case, i, data)


ANY = [m_truncate, m_pad, m_bitflip, m_splice, m_rename, m_files, m_fs]
BY_KIND = {"wfdb": [m_header_field, m_header_field, m_header_lines, m_dat_values, m_dat_values],
           "csv": [m_csv, m_csv, m_csv, m_csv], "npy": [m_npy, m_npy, m_npy, m_npy]}


def make_case(rng: random.Random, seeds: list[Case]) -> Case:
    """A seed with 1-3 stacked random mutations (0 now and then: seeds must stay valid)."""
    case = rng.choice(seeds)
    for _ in range(rng.choice([0, 1, 1, 1, 2, 2, 3])):
        if not case.files:
            break
        pool = ANY + BY_KIND[case.kind] + [m_mix, m_swap_pair]
        m = rng.choice(pool)
        case = m(rng, case, seeds) if m in (m_mix, m_swap_pair) else m(rng, case)
        case = replace(case, label=f"{case.label}+{m.__name__[2:]}")
    return case


# ---------------------------------------------------------------- running

class CaseTimeout(BaseException):
    """Raised by the alarm when one case runs past its time limit (not an Exception)."""


@dataclass
class Outcome:
    status: str          # 'valid' | 'refused' | 'error' (unhandled exception or invalid Record)
    seconds: float
    message: str = ""


def record_problem(rec) -> str | None:
    """What is wrong with a Record read_upload returned (None if it is a sound upload)."""
    x = rec.signal
    if x.dtype != np.float32 or x.ndim != 2 or x.shape[1] != 12 or not np.isfinite(x).all():
        return f"bad signal {x.dtype} {x.shape}"
    if not (MIN_FS <= rec.fs <= MAX_FS and MIN_SECONDS <= rec.seconds <= MAX_SECONDS):
        return f"fs {rec.fs} / {rec.seconds} s out of range"
    if rec.source != "upload" or rec.ecg_id is not None or rec.labels is not None:
        return "not marked as an upload"
    if rec.meta.get("format") not in ("WFDB", "CSV", "NPY") or rec.meta.get("original_fs") != rec.fs:
        return f"meta {rec.meta}"
    m = model_input(rec)
    if m.shape != (MODEL_SAMPLES, 12) or not np.isfinite(m).all():
        return f"model_input {m.shape}"
    return None


def run_case(case: Case) -> Outcome:
    """read_upload on one case; never raises (except CaseTimeout). seconds: CPU time."""
    t0 = time.process_time()
    try:
        rec = read_upload(case.files, case.fs)
        problem = record_problem(rec)
        status, msg = ("valid", "") if problem is None else ("error", f"invalid Record: {problem}")
    except UploadError as err:
        status, msg = "refused", str(err)
    except Exception:  # the thing we hunt for
        status, msg = "error", traceback.format_exc()
    return Outcome(status, time.process_time() - t0, msg)


def input_bytes(case: Case) -> int:
    return sum(len(d) for _, d in case.files)


def run_traced(case: Case) -> tuple[Outcome, int]:
    """run_case under tracemalloc: (outcome, peak bytes allocated during the call)."""
    import tracemalloc
    tracemalloc.start()
    try:
        return run_case(case), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


KINDS = [("size/name/type", r"limit is|not a plain file name|unsupported file type|is empty"),
         ("pairing", r"without its|one record at a time|no file uploaded|uploaded \.dat is"),
         ("text encoding", r"UTF-8|UTF-16|NUL bytes"),
         ("leads", r"lead names?|missing lead|extra lead|appears \d"),
         ("rate", r"sampling|Hz was given"), ("length", r"too short|too long:"),
         ("dat size", r"is (truncated|too long)"), ("checksum", r"checksum"),
         ("NaN/inf", r"non-finite"), ("amplitude", r"microvolts|no ECG sample reaches|units are wrong"),
         ("flat", r"flat"), ("WFDB header", r"\.hea|signal line|WFDB|header gives|record line"),
         ("CSV cells", r"line \d|header row|rows could not"), ("NPY", r"npy|dtype|shape|pickle")]


def refusal_kind(message: str) -> str:
    """A coarse category of an UploadError message, for the summary."""
    return next((k for k, rx in KINDS if re.search(rx, message)), "other")


MEMORY_BOUND = (16, 2**21)       # peak allocation <= 16 x input bytes + 2 MB


def fuzz(cases: int, seed: int = 0, timeout: float = 20.0, trace_every: int = 50,
         seeds: list[Case] | None = None, progress: bool = True) -> dict:
    """Runs `cases` random cases (wall-clock limit `timeout` each); returns the summary dict."""
    import signal

    def alarm(signum, frame):
        raise CaseTimeout()

    seeds, rng = seeds or load_seeds(), random.Random(seed)
    s = {"cases": cases, "valid": 0, "refused": 0, "error": 0, "hang": 0, "over_memory": 0,
         "max_case_s": (0.0, ""), "max_wall_s": 0.0, "peak": (0.0, 0, ""), "kinds": {},
         "failures": []}
    old = signal.signal(signal.SIGALRM, alarm)
    t0 = time.perf_counter()
    try:
        for k in range(cases):
            case = make_case(rng, seeds)
            w0 = time.perf_counter()
            signal.setitimer(signal.ITIMER_REAL, timeout)
            try:
                out = run_case(case)
                if trace_every and k % trace_every == 0:
                    _, peak = run_traced(case)
                    n = input_bytes(case)
                    s["peak"] = max(s["peak"], (peak / (n + 2**16), peak, case.label))
                    if peak > MEMORY_BOUND[0] * n + MEMORY_BOUND[1]:
                        s["over_memory"] += 1
                        s["failures"].append(f"case {k} ({case.label}): {peak} bytes for {n} input")
            except CaseTimeout:
                out = Outcome("hang", timeout, f"over {timeout} s")
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            s[out.status] += 1
            s["max_wall_s"] = max(s["max_wall_s"], time.perf_counter() - w0)
            s["max_case_s"] = max(s["max_case_s"], (out.seconds, case.label))
            if out.status == "refused":
                kind = refusal_kind(out.message)
                s["kinds"][kind] = s["kinds"].get(kind, 0) + 1
            elif out.status != "valid" and len(s["failures"]) < 20:
                s["failures"].append(f"case {k} ({case.label}, fs={case.fs!r}):\n{out.message}")
            if progress and (k % 200 == 0 or k == cases - 1):
                _progress(k + 1, cases, s, t0)
    finally:
        signal.signal(signal.SIGALRM, old)
    s["total_s"] = time.perf_counter() - t0
    return s


def _progress(done: int, total: int, s: dict, t0: float) -> None:
    import sys
    bar = "#" * int(30 * done / total)
    rate = done / max(time.perf_counter() - t0, 1e-9)
    sys.stderr.write(f"\r[{bar:<30}] {done}/{total} valid {s['valid']} refused {s['refused']} "
                     f"errors {s['error']} hangs {s['hang']} ({rate:.0f} cases/s)")
    sys.stderr.flush()


def summary_line(s: dict) -> str:
    return (f"fuzz summary: cases {s['cases']}, valid {s['valid']}, refused {s['refused']}, "
            f"unhandled exceptions {s['error']}, hangs {s['hang']}, over memory bound "
            f"{s['over_memory']}, max seconds per case {s['max_case_s'][0]:.3f} CPU "
            f"({s['max_case_s'][1]}) / {s['max_wall_s']:.3f} wall, total {s['total_s']:.0f} s, "
            f"peak allocation {s['peak'][1] / 2**20:.1f} MB = {s['peak'][0]:.1f}x (input + 64 KB) "
            f"({s['peak'][2]})")


def main(argv: list[str] | None = None) -> int:
    import argparse
    parser = argparse.ArgumentParser(prog="python -m ecgcore.fuzz", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds allowed per case")
    parser.add_argument("--trace-every", type=int, default=50,
                        help="measure allocations with tracemalloc on every Nth case (0: never)")
    args = parser.parse_args(argv)
    s = fuzz(args.cases, args.seed, args.timeout, args.trace_every)
    print()
    for f in s["failures"]:
        print(f)
    kinds = sorted(s["kinds"].items(), key=lambda kv: -kv[1])
    print("refusals by kind: " + ", ".join(f"{k} {n}" for k, n in kinds))
    print(summary_line(s) + f", seed {args.seed}")
    return 1 if s["error"] or s["hang"] or s["over_memory"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
