"""HL7 aECG uploads -> Record (the HL7 annotated ECG XML part of `ecgcore.io.readers`).

Accepted: an HL7 v3 AnnotatedECG document (the FDA aECG format). The rhythm `series` (not a
`derivedSeries` such as a median beat) is read: the first `sequenceSet` whose sequences hold the
12 leads (or the 8 independent ones, I, II, V1-V6, from which the other 4 are derived), coded
MDC_ECG_LEAD_I ... MDC_ECG_LEAD_V6, each an SLIST_PQ value: integer `digits` scaled as
origin + scale x digit in uV, mV or V. The rate is 1 / the increment of the TIME_ABSOLUTE or
TIME_RELATIVE sequence (s or ms).

Parsed with defusedxml's expat parser (a streaming target keeps only the sequences), not bare
xml.etree: an aECG never needs a DTD, and defusedxml refuses any DTD, entity declaration or
external reference outright (billion laughs, quadratic blow-up, XXE) instead of relying on the
limits of the expat build at hand (2.5.0 here, without the 2.6 reparse fixes); the refusal
names the cause.
"""
from __future__ import annotations

import io
import math
import re

import numpy as np

from .checks import (UploadError, check_duration, check_given_rate, check_rate, check_text,
                     lead_order, listing, show, upload_record)
from .lead_codes import derive_missing, label
from .wfdb_header import UNITS_TO_MV
from ..signal.record import Record

ACCEPTED_AECG = ("an HL7 aECG XML file (AnnotatedECG with a rhythm series of SLIST_PQ sequences "
                 "coded MDC_ECG_LEAD_I ... MDC_ECG_LEAD_V6, without a DTD)")
MAX_SEQUENCES = 64
MAX_DEPTH, MAX_ELEMENTS = 64, 200_000
# Anything that is not a whitespace-separated integer of at most 12 digits (searches without
# repetition state: a fullmatch over millions of tokens would hold a backtracking mark per token).
_RX_BAD = re.compile(r"[^0-9+\-\s]|\S[+-]|[+-](?![0-9])|[0-9]{13}", re.ASCII)
_TIME_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6}


def _local(tag: object) -> str:
    return str(tag).rpartition("}")[2]


def read_aecg(name: str, data: bytes, fs: float | None) -> Record:
    """An HL7 aECG XML file -> Record; fs None or equal to the file's rate."""
    where = show(name)
    check_text(name, data, "HL7 aECG XML")
    sets = _parse(where, data)
    rhythm = [seqs for derived, seqs in sets if not derived]
    if not sets:
        raise UploadError(f"{where}: the aECG holds no sequenceSet (no waveforms): upload {ACCEPTED_AECG}")
    chosen, seen = None, []
    for seqs in rhythm or [seqs for _, seqs in sets]:
        names = [label(code) for code, _ in seqs if code and not code.startswith("TIME_")]
        seen.append(listing(names, 12) or "no leads")
        if all(lead in names for lead in ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")):
            chosen = seqs
            break
    if chosen is None:
        raise UploadError(f"{where}: no sequenceSet holds the 12 leads (found: {'; '.join(seen[:3])}). "
                          f"Accepted: {ACCEPTED_AECG}")
    notes = [] if rhythm else ["the aECG has only derived series (e.g. a median beat): read the first"]
    rate = _rate(where, chosen)
    check_given_rate(fs, rate, where, "HL7 aECG")
    names, cols, units = [], [], set()
    for code, value in chosen:
        if code.startswith("TIME_"):
            continue
        col, unit = _digits(where, code, value, rate)
        if cols and len(col) != len(cols[0]):
            raise UploadError(f"{where}: lead {show(label(code), 24)} has {len(col)} samples but "
                              f"{show(names[0], 24)} has {len(cols[0])}: every lead must be as long")
        names.append(label(code))
        cols.append(col)
        units.add(unit)
    found = list(names)
    names, cols, derived = derive_missing(names, cols)
    order, lead_notes = lead_order(names, where)
    n = len(cols[0])
    x = np.empty((n, 12), np.float64)
    for i, k in enumerate(order):
        x[:, i] = cols[k]
    del cols
    other = sorted(u for u in units if u.lower() != "mv")
    notes += derived + ([f"units converted from {'/'.join(other)} to mV"] if other else [])
    notes.append(f"read {n} samples x 12 leads at {rate:g} Hz from the HL7 aECG rhythm series")
    aside = [nm for k, nm in enumerate(names) if k not in order]
    return upload_record(x, rate, "aECG", name, notes + lead_notes, original_leads=found,
                         set_aside=aside)


class _Collector:
    """ElementTree parser target: keeps only what the reader needs, as the parser goes: for each
    sequenceSet, whether it lies in a derivedSeries, and each sequence's code, value attributes
    (origin, scale, increment: value and unit) and digits text. Nothing else is stored, so memory
    stays near the digits' size whatever the element count; depth, element and sequence counts are
    capped (an UploadError raised here stops the parser)."""

    def __init__(self, where: str) -> None:
        self.where, self.path, self.sets, self.n = where, [], [], 0
        self.seq: dict | None = None
        self.text: io.StringIO | None = None

    def start(self, tag: str, attrib: dict) -> None:
        name, path = _local(tag), self.path
        if not path and name != "AnnotatedECG":
            raise UploadError(f"{self.where}: the XML root element is {show(name, 40)}, not AnnotatedECG "
                              f"(GE MUSE and other XML forms are not read): upload {ACCEPTED_AECG}")
        path.append(name)
        self.n += 1
        if len(path) > MAX_DEPTH or self.n > MAX_ELEMENTS:
            raise UploadError(f"{self.where}: the XML nests {len(path)} deep / holds {self.n} elements; "
                              f"an aECG needs far fewer (limits {MAX_DEPTH} / {MAX_ELEMENTS}): upload "
                              f"{ACCEPTED_AECG}")
        if name == "sequenceSet":
            if len(self.sets) >= MAX_SEQUENCES:
                raise UploadError(f"{self.where}: more than {MAX_SEQUENCES} sequenceSets")
            self.sets.append(("derivedSeries" in path, []))
        elif name == "sequence" and self.sets:
            self.seq = {"code": "", "value": None}
        elif self.seq is not None and len(path) >= 2:
            parent = path[-2]
            if parent == "sequence" and name == "code":
                self.seq["code"] = str(attrib.get("code") or "")[:64]
            elif parent == "sequence" and name == "value":
                self.seq["value"] = {}
            elif parent == "value" and self.seq["value"] is not None:
                if name == "digits":
                    self.text = io.StringIO()
                else:
                    self.seq["value"][name] = (attrib.get("value"), str(attrib.get("unit") or "")[:16])

    def data(self, text: str) -> None:
        if self.text is not None:
            self.text.write(text)

    def end(self, tag: str) -> None:
        name = self.path.pop()
        if name == "digits" and self.text is not None and self.seq and self.seq["value"] is not None:
            self.seq["value"]["digits"] = self.text.getvalue()
            self.text = None
        elif name == "sequence" and self.seq is not None:
            seqs = self.sets[-1][1]
            seqs.append((self.seq["code"], self.seq["value"]))
            self.seq = None
            if len(seqs) > MAX_SEQUENCES:
                raise UploadError(f"{self.where}: more than {MAX_SEQUENCES} sequences in one sequenceSet")

    def close(self) -> list:
        return self.sets


def _parse(where: str, data: bytes) -> list[tuple[bool, list[tuple[str, dict | None]]]]:
    """The sequenceSets of the document: [(inside a derivedSeries, [(code, value) of each
    sequence])], value {'origin'|'scale'|'increment'|...: (value, unit), 'digits': text} or None.
    The whole document goes to expat in one call: fed in chunks, expat 2.5 rescans an unfinished
    token at every chunk (quadratic: a 26 MB run of '0' took 45 s); in one call it is linear."""
    import defusedxml
    from defusedxml.ElementTree import DefusedXMLParser
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith(b"<"):
        raise UploadError(f"{where} is not XML (it does not start with '<'): upload {ACCEPTED_AECG}")
    parser = DefusedXMLParser(target=_Collector(where), forbid_dtd=True, forbid_entities=True,
                              forbid_external=True)
    try:
        parser.feed(data)
        return parser.close()
    except UploadError:
        raise
    except defusedxml.DefusedXmlException as err:
        raise UploadError(f"{where}: the XML declares a DTD or entities ({type(err).__name__}), "
                          "which an aECG never needs and which can expand without bound or reach "
                          f"outside files: refused. Upload {ACCEPTED_AECG}") from None
    except Exception as err:  # noqa: BLE001 - expat ParseError and the like: a refusal
        raise UploadError(f"{where} is not well-formed XML ({show(err, 100)}): the file is damaged "
                          f"or truncated; upload {ACCEPTED_AECG}") from None


def _number(where: str, pair: tuple | None, what: str) -> tuple[float, str]:
    """(value, unit) from an element's value= and unit= attributes; refuses a missing or bad one."""
    raw = None if pair is None else pair[0]
    try:
        v = float(raw)
    except (TypeError, ValueError):
        raise UploadError(f"{where}: {what} value {show(raw)} is not a number") from None
    if not math.isfinite(v):
        raise UploadError(f"{where}: {what} value {show(raw)} is not finite")
    return v, pair[1]


def _rate(where: str, seqs: list) -> float:
    """1 / increment of the time sequence, in Hz."""
    t = next((v for code, v in seqs if code in ("TIME_ABSOLUTE", "TIME_RELATIVE")), None)
    if t is None:
        raise UploadError(f"{where}: the sequenceSet has no TIME_ABSOLUTE or TIME_RELATIVE sequence, "
                          f"so no sampling rate: upload {ACCEPTED_AECG}")
    inc, unit = _number(where, (t or {}).get("increment"), "the time increment")
    if unit not in _TIME_UNITS or inc <= 0:
        raise UploadError(f"{where}: time increment {inc:g} {show(unit)} is not accepted; accepted: a "
                          "positive increment in s or ms (e.g. 0.002 s for 500 Hz)")
    return check_rate(round(1.0 / (inc * _TIME_UNITS[unit]), 6), where)


def _digits(where: str, code: str, value, rate: float) -> tuple[np.ndarray, str]:
    """One lead's samples in mV from an SLIST_PQ value (origin + scale x digits), and its unit."""
    lead = show(label(code), 24)
    if value is None or value.get("digits") is None:
        raise UploadError(f"{where}: lead {lead} has no value/digits: accepted are SLIST_PQ values "
                          "with origin, scale and digits")
    origin, u0 = _number(where, value.get("origin"), f"lead {lead} origin")
    scale, u1 = _number(where, value.get("scale"), f"lead {lead} scale")
    factor = UNITS_TO_MV.get(u1.lower())
    if factor is None or UNITS_TO_MV.get(u0.lower()) is None:
        raise UploadError(f"{where}: lead {lead} is in units {show(u1 or u0 or 'none')}; accepted: "
                          "uV, mV or V")
    text = value["digits"]
    bad = _RX_BAD.search(text)
    if bad:
        a, b = bad.start(), bad.start() + 1
        while a > 0 and bad.start() - a < 16 and not text[a - 1].isspace():
            a -= 1
        while b < len(text) and b - a < 24 and not text[b].isspace():
            b += 1
        raise UploadError(f"{where}: lead {lead} digits hold {show(text[a:b], 30)}: accepted are "
                          "whitespace-separated integers (origin and scale give the units)")
    # Validated as integers above, so numpy's text parser reads every token (8 bytes each, at most
    # one token per 2 characters: no per-token Python objects).
    try:
        d = np.fromstring(text, dtype=np.float64, sep=" ") if text.strip() else np.zeros(0)
    except ValueError:
        raise UploadError(f"{where}: lead {lead} digits could not be read as integers: accepted are "
                          "whitespace-separated integers") from None
    check_duration(len(d), rate, f"{where} (lead {lead})")
    return origin * UNITS_TO_MV[u0.lower()] + d * (scale * factor), u1
