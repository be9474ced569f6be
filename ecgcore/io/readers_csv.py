"""CSV uploads -> Record (the CSV part of `ecgcore.io.readers`).

Accepted: one column per lead, a header row naming the 12 leads (any order/case, with prefixes and
units such as 'Lead V1', 'V1 (mV)', 'v1_uV': uV and V are converted), one row per sample;
separators ',' ';' or tab; decimal commas with ';' or tab; a trailing separator on every line;
metadata lines before the header row (skipped; a sampling rate stated there is used); a time or
sample-index column (ignored as a lead; a regular time column gives the rate). Columns beyond the
12 leads are set aside. The bytes are validated as UTF-8 first and not copied as text.
"""
from __future__ import annotations

import io
import re

import numpy as np

from .checks import (LEADS_TEXT, UploadError, check_duration, check_rate, check_text, lead_order, show,
                     upload_record)
from ..signal.record import Record, normalize_lead_name, split_lead_label
from .wfdb_header import UNITS_TO_MV

MAX_CSV_HEADER = 64 * 1024     # characters in the header row (and in each preamble line)
MAX_PREAMBLE_LINES = 64        # lines searched for the header row
_RX_TIME = re.compile(r"^(?:(?P<idx>sample(?:s| ?number| ?no\.?)?|index|idx|#|n)|(?:time(?:stamp)?|t|"
                      r"elapsed(?: ?time)?|seconds|secs?|ms|msec|milliseconds)(?:[\s_]*[(\[]?"
                      r"(?P<unit>s|sec|seconds|ms|msec|milliseconds)[)\]]?)?)$", re.IGNORECASE)
_RX_RATE = re.compile(r"(?:sampl\w*[\s_-]*(?:rate|freq\w*)|\bfs\b|frequency)\D{0,20}?(\d+(?:[.,]\d+)?)",
                      re.IGNORECASE)
_UNIT_FACTORS = {**UNITS_TO_MV, "millivolt": 1.0, "millivolts": 1.0, "microvolt": 1e-3,
                 "microvolts": 1e-3}


def read_csv(name: str, data: bytes, fs: float | None) -> Record:
    """A CSV (header row of lead names, one row per sample) -> Record; fs in Hz or None when the
    file states its rate (time column or a 'Sampling rate' line before the header row)."""
    where = show(name)
    check_text(name, data, "CSV text")
    start = re.match(rb"(\xef\xbb\xbf)?[\r\n]*", data).end()
    end = len(data)
    while end > start and data[end - 1] in b" \t\r\n":
        end -= 1
    if end == start:
        raise UploadError(f"{where} holds no text: expected a header row naming the leads")
    lines = _first_lines(where, data, start, end)
    k = _header_index(data, lines)
    header_start, nl = lines[k]
    header = data[header_start:nl].decode("utf-8").rstrip("\r")
    delim = max(",;\t", key=header.count) if any(d in header for d in ",;\t") else None
    names = [c.strip().strip("\"'").strip() for c in (header.split(delim) if delim else [header])]
    if all(_is_number(c) for c in names):
        raise UploadError(f"{where} has no header row: the first line {show(header)} holds numbers. "
                          f"Add a first line naming the leads, e.g. {LEADS_TEXT.replace(' ', '')}")
    notes, line0 = [], k + 1           # line0: 1-based line number of the header row
    preamble = data[start:header_start].decode("utf-8")
    if k:
        notes.append(f"lines 1-{k} before the header row (line {line0}) skipped: "
                     f"{show(preamble.splitlines()[0], 50)}{' ...' if k > 1 else ''}")
        where = f"{where} (header row: line {line0})"
    body = (nl + 1, end) if nl < end else (end, end)
    n_rows = data.count(b"\n", *body) + 1 if nl < end else 0
    fnl = data.find(b"\n", body[0], min(body[1], body[0] + MAX_CSV_HEADER))
    first = data[body[0]:fnl if fnl >= 0 else min(body[1], body[0] + MAX_CSV_HEADER)]
    first = first.decode("utf-8", "replace").rstrip("\r")
    if names[-1] == "" and len(names) > 1:
        names.pop()
        notes.append("empty last column ignored (each header line ends with a separator)")
    ncols = len(names) + (delim is not None and first.count(delim) == len(names))
    if ncols > len(names):
        notes.append("empty last cell of each row ignored (rows end with a separator)")
    comma = delim in (";", "\t") and re.search(r"\d,\d", first) is not None
    tcol = next((j for j, n in enumerate(names) if _time_unit(n, j) is not None), None)
    cols = [j for j in range(len(names)) if j != tcol]
    if tcol is not None:
        notes.append(f"{'first ' if tcol == 0 else ''}column {show(names[tcol], 24)} ignored "
                     "(time/index, not a lead)")
    order, lead_notes = lead_order([names[j] for j in cols], where)
    leads = [cols[i] for i in order]
    factors, unit_note = _units([names[j] for j in leads])
    rate, rate_note = _rate(where, data, body, n_rows, delim, comma, names, tcol, preamble, fs)
    notes += [n for n in (rate_note, unit_note) if n]
    check_duration(n_rows, rate, where)
    x = _parse_rows(where, data, body, n_rows, delim, ncols, leads, names, line0, comma)
    x *= factors
    if comma:
        notes.append("decimal commas read as decimal points")
    notes.append(f"read {n_rows} rows x 12 leads at {rate:g} Hz")
    return upload_record(x, rate, "CSV", name, notes + lead_notes,
                         original_leads=[names[j] for j in cols])


def _first_lines(where: str, data: bytes, start: int, end: int) -> list[tuple[int, int]]:
    """(start, end) of up to MAX_PREAMBLE_LINES lines; refuses a first line without line breaks."""
    out, at = [], start
    while at <= end and len(out) < MAX_PREAMBLE_LINES:
        nl = data.find(b"\n", at, min(end, at + MAX_CSV_HEADER))
        if nl < 0:
            if end - at > MAX_CSV_HEADER:
                if not out:
                    raise UploadError(f"{where}: the first line is over {MAX_CSV_HEADER // 1024} KB "
                                      "long: expected a header row naming the leads, then one row "
                                      "per sample (line breaks missing?)")
                break
            out.append((at, end))
            break
        out.append((at, nl))
        at = nl + 1
    return out


def _is_data(text: str) -> bool:
    """A line of mostly numbers (under any separator; decimal commas with ';' or tab)."""
    for d in ",;\t":
        cells = [c.strip().strip("\"'") for c in text.split(d)]
        cells = [c.replace(",", ".") if d != "," else c for c in cells if c]
        numeric = sum(_is_number(c) for c in cells)
        if cells and (numeric >= max(2, len(cells) / 2) or (len(cells) == 1 and numeric)):
            return True
    return False


def _header_index(data: bytes, lines: list[tuple[int, int]]) -> int:
    """Index of the header row: the last non-blank line before the first data line (mostly
    numbers); 0 when the data start at once or no data line is among the first lines."""
    prev = None
    for i, (a, b) in enumerate(lines):
        text = data[a:b].decode("utf-8").strip()
        if not text.strip(",;\t \"'"):
            continue
        if _is_data(text):
            return prev or 0
        prev = i
    return 0


def _is_number(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return False


def _time_unit(name: str, j: int) -> str | None:
    """'s', 'ms' or 'index' for a time/sample column name ('' only as the first column); None
    for any other column."""
    key = name.strip().lower()
    if key == "":
        return "index" if j == 0 else None
    m = _RX_TIME.match(key)
    if not m or normalize_lead_name(name):
        return None
    if m.group("idx"):
        return "index"
    return "ms" if (m.group("unit") or key).startswith("m") else "s"


def _units(names: list[str]) -> tuple[np.ndarray, str | None]:
    """Factor to mV per lead column from units in the names ('V1 (uV)'), and a note."""
    units = [split_lead_label(n)[1] for n in names]
    if not any(units):
        return np.ones(len(names)), "CSV carries no units: mV assumed (amplitudes checked)"
    factors = np.array([_UNIT_FACTORS[u.lower()] if u else 1.0 for u in units])
    named = sorted({u for u in units if u})
    other = [u for u in named if _UNIT_FACTORS[u.lower()] != 1.0]
    text = f"units {'/'.join(named)} from the column names"
    if None in units:
        text += "; mV assumed for the columns without a unit"
    return factors, text + (f" (converted to mV from {'/'.join(other)})" if other else "")


def _rate(where: str, data: bytes, body: tuple[int, int], n_rows: int, delim: str | None,
          comma: bool, names: list[str], tcol: int | None, preamble: str,
          fs: float | None) -> tuple[float, str | None]:
    """The sampling rate: the one given, else the time column's (when regular), else one stated
    before the header row. A given rate that contradicts the file's is refused."""
    found, source = None, None
    if tcol is not None and delim is not None and n_rows >= 3:
        found, source = _rate_from_time(data, body, n_rows, delim, comma, tcol, names[tcol])
    m = _RX_RATE.search(preamble)
    if found is None and m:
        found, source = float(m.group(1).replace(",", ".")), f"the line {show(m.group(0), 40)}"
    if fs is not None:
        rate = check_rate(fs, where)
        if found is not None and abs(found - rate) > 0.01 * rate:
            raise UploadError(f"{where}: {source} gives {found:g} Hz but {rate:g} Hz was given: "
                              "leave the rate empty to use the file's rate, or correct it")
        return rate, None
    if found is None:
        check_rate(None, where)
    return check_rate(found, where), f"sampling rate {found:g} Hz read from {source}"


def _rate_from_time(data: bytes, body: tuple[int, int], n_rows: int, delim: str, comma: bool,
                    tcol: int, name: str) -> tuple[float | None, str | None]:
    """Rate from a regular numeric time column (first 2000 rows and the last), else (None, None)."""
    unit = _time_unit(name, tcol)
    if unit == "index":
        return None, None
    pos, head = body[0], []
    for _ in range(min(n_rows - 1, 2000)):
        nl = data.find(b"\n", pos, body[1])
        head.append(data[pos:nl])
        pos = nl + 1
    tail = data[data.rfind(b"\n", body[0], body[1]) + 1:body[1]]
    try:
        cells = [r.decode("utf-8").split(delim)[tcol].strip().strip('"') for r in head + [tail]]
        t = np.array([float(c.replace(",", ".") if comma else c) for c in cells])
    except (ValueError, IndexError):
        return None, None
    span = t[-1] - t[0]
    if not np.isfinite(t).all() or span <= 0:
        return None, None
    rate = (n_rows - 1) / span
    expect = t[0] + np.r_[np.arange(len(head)), n_rows - 1] / rate
    if np.abs(t - expect).max() > 0.5 / rate:
        return None, None
    scale = " (read as milliseconds)" if unit == "ms" else ""
    if unit == "s" and rate < 50 <= rate * 1000:
        unit, scale = "ms", " (values read as milliseconds)"
    if unit == "ms":
        rate *= 1000
    rate = float(round(rate)) if abs(rate - round(rate)) < 0.005 * rate else round(rate, 3)
    return rate, f"the time column {show(name, 24)}{scale}"


def _parse_rows(where: str, data: bytes, span: tuple[int, int], n_rows: int, delim: str | None,
                ncols: int, leads: list[int], names: list[str], line0: int, comma: bool) -> np.ndarray:
    """(n_rows, 12) float64 of the lead columns (in `leads` order) of data[span]; UploadError
    naming the first bad line or cell. Fast path: numpy's parser when every row has the right
    number of separators; otherwise (or on failure) a row-by-row scan that names the problem.
    """
    hint, delim = None, delim or ","
    if comma:
        data, span = data[span[0]:span[1]].replace(b",", b"."), (0, span[1] - span[0])
    if data.count(delim.encode(), *span) == n_rows * (ncols - 1):
        fp = io.BytesIO(data)
        fp.seek(span[0])
        try:
            x = np.loadtxt(fp, delimiter=delim, dtype=np.float64, ndmin=2, comments=None,
                           quotechar='"', usecols=leads, max_rows=n_rows, encoding="utf-8")
            if x.shape == (n_rows, len(leads)):
                return x
        except ValueError as err:
            m = re.search(r"at row (\d+)", str(err))
            hint = int(m.group(1)) if m else None
    rows = data[span[0]:span[1]].decode("utf-8").split("\n")
    near = range(max(hint - 3, 0), min(hint + 3, len(rows))) if hint else range(0)
    for i in [*near, *range(len(rows))]:
        if rows[i].count(delim) != ncols - 1:
            what = "is empty" if not rows[i].strip() else f"has {rows[i].count(delim) + 1} cells"
            raise UploadError(f"{where}: line {line0 + 1 + i} {what} but the header has {ncols} "
                              "columns: every row needs one value per column, no blank lines")
        cells = rows[i].rstrip("\r").split(delim)
        for j in leads:
            if not _is_number(cells[j].strip().strip('"')):
                tip = " (use '.' as the decimal point)" if re.fullmatch(r"\s*-?\d+,\d+\s*", cells[j]) else ""
                raise UploadError(f"{where}: line {line0 + 1 + i}, column {show(names[j], 24)}: "
                                  f"{show(cells[j], 30)} is not a number{tip}: every cell must be a "
                                  "value in mV")
    raise UploadError(f"{where}: the rows could not be read as numbers (quotes or line breaks "
                      "inside cells?): one row per sample, one plain number per lead")
