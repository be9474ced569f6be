"""Fuzz mutations of DICOM ECG, HL7 aECG and EDF uploads (each takes a Case, returns a damaged copy).

DICOM: attributes of the waveform group set to absurd values (sizes, bits, rates, units, codes),
groups removed or added, the transfer syntax changed, an element's length field patched.
XML: entity bombs and external entities, broken time/lead/digits/units, deep nesting, truncation.
EDF: fixed-width header fields replaced by hostile values, EDF+D, labels and units changed.
"""
from __future__ import annotations

import io
import random
import re
import struct
from dataclasses import replace

from .seeds import Case

HOSTILE_NUMBERS = ["0", "-1", "1", "12", "13", "1000000000", "4294967295", "nan", "inf", "-inf", "1e300",
                   "1e-300", "abc", "", " ", "99999999", "-32768", "32767", "0.5", "5000", "600001"]


def _file(case: Case, ext: str) -> int | None:
    return next((i for i, (n, _) in enumerate(case.files) if n.lower().endswith("." + ext)), None)


def _put(case: Case, i: int, data: bytes) -> Case:
    files = list(case.files)
    files[i] = (files[i][0], data)
    return replace(case, files=files)


# ---------------------------------------------------------------- DICOM

def m_dicom(rng: random.Random, case: Case) -> Case:
    """Edit the DICOM dataset with pydicom and write it back (or patch its bytes)."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _m_dicom(rng, case)


def _m_dicom(rng: random.Random, case: Case) -> Case:
    i = _file(case, "dcm")
    if i is None:
        return case
    data = case.files[i][1]
    op = rng.choice(["attr", "attr", "attr", "channel", "channel", "groups", "syntax", "length",
                     "data", "nest"])
    if op == "length":       # a huge declared length on the waveform data element (5400,1010) OW
        at = data.find(b"\x00\x54\x10\x10OW\x00\x00")
        if at < 0:
            return case
        size = rng.choice([0xFFFFFFFF, 0xFFFFFFF0, 0x7FFFFFFF, 1, 3, len(data)])
        return _put(case, i, data[:at + 8] + struct.pack("<I", size) + data[at + 12:])
    try:
        import pydicom
        ds = pydicom.dcmread(io.BytesIO(data))
        g = ds.WaveformSequence[0]
    except Exception:  # noqa: BLE001 - an already damaged seed: leave it to other mutations
        return case
    try:
        _edit_dicom(rng, ds, g, op)
    except Exception:  # noqa: BLE001 - an edit that does not apply to this dataset
        return case
    try:
        buf = io.BytesIO()
        ds.save_as(buf, enforce_file_format=False)
    except Exception:  # noqa: BLE001 - pydicom refused to write this edit: keep the seed
        return case
    return _put(case, i, buf.getvalue())


def _edit_dicom(rng: random.Random, ds, g, op: str) -> None:
    """One edit of the dataset `ds` (waveform group `g`) in place."""
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence
    if op == "attr":
        key = rng.choice(["SamplingFrequency", "NumberOfWaveformSamples", "NumberOfWaveformChannels",
                          "WaveformBitsAllocated", "WaveformSampleInterpretation", "MultiplexGroupLabel",
                          "WaveformOriginality"])
        value = {"SamplingFrequency": rng.choice(["0", "-500", "1e9", "NaN", "49", "250.5", "10001"]),
                 "NumberOfWaveformSamples": rng.choice([0, 1, 4999, 5001, 65535, 2**31 - 1, 2**32 - 1]),
                 "NumberOfWaveformChannels": rng.choice([0, 1, 11, 13, 3000, 65535]),
                 "WaveformBitsAllocated": rng.choice([0, 8, 12, 32, 64, 65535]),
                 "WaveformSampleInterpretation": rng.choice(["MB", "AB", "UB", "SB", "SL", "FL", "XX"]),
                 "MultiplexGroupLabel": rng.choice(["MEDIAN BEAT", "", "\u202e"]),
                 "WaveformOriginality": "DERIVED"}[key]
        if rng.random() < 0.1:
            del g[key]
        else:
            setattr(g, key, value)
    elif op == "channel":
        chans = g.get("ChannelDefinitionSequence") or []
        ch = chans[rng.randrange(len(chans))] if chans else None
        if ch is None or not ch.get("ChannelSourceSequence") or not ch.get("ChannelSensitivityUnitsSequence"):
            return
        what = rng.choice(["code", "meaning", "nosource", "sens", "unit", "nounit", "baseline", "corr"])
        src = ch.ChannelSourceSequence[0]
        if what == "code":
            src.CodeValue = rng.choice(["5.6.3-9-2", "5.6.3-9-99", "2:1", "MDC_ECG_LEAD_V4R", "x", ""])
        elif what == "meaning":
            del src.CodeValue
            src.CodeMeaning = rng.choice(["Lead II", "Lead V4R", "Lead aVR (Goldberger)", "", "?" * 64])
        elif what == "nosource":
            del ch.ChannelSourceSequence
        elif what in ("sens", "baseline", "corr"):
            key = {"sens": "ChannelSensitivity", "baseline": "ChannelBaseline",
                   "corr": "ChannelSensitivityCorrectionFactor"}[what]
            setattr(ch, key, rng.choice(["0", "1e30", "-1", "NaN", "1000", "1e-9"]))
        elif what == "unit":
            ch.ChannelSensitivityUnitsSequence[0].CodeValue = rng.choice(["mV", "V", "mmHg", "", "nV"])
        else:
            del ch.ChannelSensitivityUnitsSequence
    elif op == "groups":
        how = rng.choice(["none", "empty", "dup", "many"])
        if how == "none":
            del ds.WaveformSequence
        elif how == "empty":
            ds.WaveformSequence = Sequence([])
        elif how == "dup":
            ds.WaveformSequence.append(g)
        else:
            ds.WaveformSequence = Sequence([g] * 40)
    elif op == "syntax":
        ds.file_meta.TransferSyntaxUID = rng.choice(["1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99",
                                                     "1.2.840.10008.1.2", "1.2.3"])
    elif op == "data":
        raw = g.WaveformData
        g.WaveformData = rng.choice([raw[:len(raw) // 2], raw + b"\0\0" * 12, b"", raw[:-1], raw[::-1]])
    else:                    # deeply nested sequences in a private-looking attribute
        inner = Dataset()
        for _ in range(rng.choice([10, 200])):
            outer = Dataset()
            outer.ReferencedWaveformSequence = Sequence([inner])
            inner = outer
        ds.ReferencedWaveformSequence = inner.ReferencedWaveformSequence


# ---------------------------------------------------------------- XML

BOMBS = [
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;'
    '&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;'
    '&lol2;">]><AnnotatedECG xmlns="urn:hl7-org:v3">&lol3;</AnnotatedECG>',
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    '<AnnotatedECG xmlns="urn:hl7-org:v3">&xxe;</AnnotatedECG>',
    '<?xml version="1.0"?><!DOCTYPE x SYSTEM "http://127.0.0.1:1/x.dtd"><AnnotatedECG/>',
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY % p SYSTEM "http://127.0.0.1:1/p">%p;]><AnnotatedECG/>',
]


def m_xml(rng: random.Random, case: Case) -> Case:
    """Edit the aECG XML text: bombs, broken values, missing parts, nesting, truncation."""
    i = _file(case, "xml")
    if i is None:
        return case
    text = case.files[i][1].decode("utf-8", "replace")
    op = rng.choice(["bomb", "doctype", "increment", "digits", "digits", "unit", "code", "drop", "dup",
                     "nest", "root", "derived", "eightleads", "cut", "number"])
    if op == "bomb":
        text = rng.choice(BOMBS)
    elif op == "doctype":
        text = text.replace("<AnnotatedECG", rng.choice(BOMBS).split("<AnnotatedECG")[0].split("?>")[1]
                            + "<AnnotatedECG", 1)
    elif op == "increment":
        value = rng.choice(HOSTILE_NUMBERS)
        text = re.sub(r'<increment value="[^"]*" unit="s"', f'<increment value="{value}" '
                      f'unit="{rng.choice(["s", "ms", "h", ""])}"', text, count=1)
    elif op == "digits":
        junk = rng.choice(["1.5", "1e5", "abc", "99999999999999", "-", "1 2", "", "\u0661", "+-1",
                           "  " * 5000, "1 " * 300000])
        k = rng.randrange(1, 13)
        parts = text.split("<digits>")
        if k < len(parts):
            parts[k] = junk + parts[k][parts[k].find("</digits>"):] if rng.random() < 0.5 else \
                parts[k].replace(" ", " " + junk + " ", 1)
        text = "<digits>".join(parts)
    elif op == "unit":
        text = text.replace('unit="uV"', f'unit="{rng.choice(["mV", "V", "mmHg", "", "nV"])}"',
                            rng.choice([1, 2, 24]))
    elif op == "code":
        text = text.replace(f"MDC_ECG_LEAD_{rng.choice(['I', 'II', 'V1', 'AVR', 'V6'])}\"",
                            f"{rng.choice(['MDC_ECG_LEAD_V4R', 'MDC_ECG_LEAD_II', 'X', ''])}\"", 1)
    elif op in ("drop", "dup"):
        comps = re.findall(r"<component><sequence>.*?</sequence></component>", text, flags=re.S)
        if comps:
            c = rng.choice(comps)
            text = text.replace(c, "" if op == "drop" else c + c, 1)
    elif op == "nest":
        depth = rng.choice([100, 10000, 200000])
        text = text.replace("<sequenceSet>", "<sequenceSet>" + "<a>" * depth + "</a>" * depth, 1)
    elif op == "root":
        text = text.replace("AnnotatedECG", rng.choice(["restingecgdata", "sapphire", "x"]))
    elif op == "derived":
        text = text.replace("<series>", "<derivedSeries>").replace("</series>", "</derivedSeries>")
    elif op == "eightleads":
        for lead in ("III", "AVR", "AVL", "AVF"):
            text = re.sub(rf'<component><sequence><code code="MDC_ECG_LEAD_{lead}".*?</component>', "",
                          text, count=1, flags=re.S)
    elif op == "cut":
        text = text[:rng.randrange(len(text) + 1)]
    else:
        text = re.sub(r'(<(?:origin|scale) value=")[^"]*"', lambda m: m.group(1) + rng.choice(HOSTILE_NUMBERS)
                      + '"', text, count=rng.choice([1, 2, 24]))
    return _put(case, i, text.encode("utf-8", "surrogatepass"))


# ---------------------------------------------------------------- EDF

_EDF_GLOBAL = [(0, 8), (168, 8), (176, 8), (184, 8), (192, 44), (236, 8), (244, 8), (252, 4)]
_EDF_SIGNAL = [(16, "label"), (80, "transducer"), (8, "dimension"), (8, "pmin"), (8, "pmax"),
               (8, "dmin"), (8, "dmax"), (80, "prefilter"), (8, "spr"), (32, "reserved")]


def m_edf(rng: random.Random, case: Case) -> Case:
    """Replace one fixed-width EDF header field (global or of one signal) by a hostile value."""
    i = _file(case, "edf")
    if i is None:
        return case
    d = bytearray(case.files[i][1])
    if len(d) < 256 or not d[252:256].strip().isdigit():
        return case
    ns = int(d[252:256])
    if ns < 1:               # an earlier mutation left no signals: only the global fields remain
        return case
    pool = HOSTILE_NUMBERS + ["EDF+D", "EDF+C", "ECG I", "ECG V4R", "EDF Annotations", "mV", "V", "mmHg",
                              "\u00b5V", "\x00", "\xff"]
    if rng.random() < 0.35:
        at, width = rng.choice(_EDF_GLOBAL)
    else:                    # field f of signal k: fields are stored field by field over all signals
        f, k = rng.randrange(len(_EDF_SIGNAL)), rng.randrange(ns)
        width = _EDF_SIGNAL[f][0]
        at = 256 + ns * sum(w for w, _ in _EDF_SIGNAL[:f]) + k * width
    value = rng.choice(pool).encode("latin-1")[:width].ljust(width)
    d[at:at + width] = value
    return _put(case, i, bytes(d))


BY_FORMAT = {"dcm": [m_dicom, m_dicom, m_dicom, m_dicom], "xml": [m_xml, m_xml, m_xml, m_xml],
             "edf": [m_edf, m_edf, m_edf, m_edf]}
