"""Fuzz driver: runs cases through read_upload with a time limit and an allocation bound."""
from __future__ import annotations

import random
import re
import time
import traceback
from dataclasses import dataclass

import numpy as np

from ..io.checks import MAX_FS, MAX_SECONDS, MIN_FS, MIN_SECONDS, UploadError
from ..io.readers import read_upload
from ..signal.record import MODEL_SAMPLES, model_input
from .mutations import make_case
from .seeds import Case, load_seeds


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
    if rec.meta.get("format") not in ("WFDB", "CSV", "NPY", "DICOM", "aECG", "EDF") or rec.meta.get("original_fs") != rec.fs:
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
         ("CSV cells", r"line \d|header row|rows could not"), ("NPY", r"npy|dtype|shape|pickle"),
         ("DICOM", r"DICOM|multiplex|Waveform"), ("XML/aECG", r"XML|aECG|DTD|digits|sequence"),
         ("EDF", r"EDF")]


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

