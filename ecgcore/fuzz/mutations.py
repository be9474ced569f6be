"""Fuzz mutations: each takes a Case and returns a damaged copy; `make_case` stacks 1-3 of them."""
from __future__ import annotations

import io
import pickle
import random
import re
from dataclasses import replace

import numpy as np

from ..io.checks import MAX_UPLOAD_MB, UploadError
from ..io.wfdb_header import parse_header
from .mutations_formats import BY_FORMAT
from .seeds import CELLS, CSV_NAMES, FS_POOL, NAMES, TOKENS, Case, _npy_bytes


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
    return case if i is None or j is None else _set(case, i, other.files[j][1])


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
           "csv": [m_csv, m_csv, m_csv, m_csv], "npy": [m_npy, m_npy, m_npy, m_npy], **BY_FORMAT}


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


