"""DICOM ECG uploads -> Record (the DICOM part of `ecgcore.io.readers`), read with pydicom.

Accepted: a DICOM Part 10 file ('DICM' at byte 128, little-endian transfer syntax) holding a
Waveform Sequence (12-lead, general or ambulatory ECG waveform storage). Of its multiplex groups
the one with all 12 leads is read (an ORIGINAL group before a DERIVED one such as a median beat,
then the longest), at its own rate. Lead names come from each channel's Channel Source Sequence
(code value or code meaning); samples are 8/16/32-bit integers scaled by Channel Sensitivity x
Sensitivity Correction Factor + Channel Baseline, in the units of the Channel Sensitivity Units
Sequence (uV, mV or V). Sizes are checked against the bytes before the samples are decoded, and
the data elements are counted (at most 50,000) before pydicom parses them.
"""
from __future__ import annotations

import io
import warnings

import numpy as np

from .checks import (UploadError, check_duration, check_given_rate, check_rate, lead_order, listing,
                     show, upload_record)
from .lead_codes import derive_missing, label
from .wfdb_header import UNITS_TO_MV
from ..signal.record import LEADS, Record

# (bits allocated, sample interpretation) -> numpy dtype; mu-law / A-law (MB, AB) are refused.
SAMPLE_DTYPES = {(8, "SB"): "i1", (8, "UB"): "u1", (16, "SS"): "<i2", (16, "US"): "<u2",
                 (32, "SL"): "<i4", (32, "UL"): "<u4"}
MAX_GROUPS, MAX_CHANNELS = 32, 64
ACCEPTED_DICOM = ("a DICOM ECG waveform file (.dcm, 12-lead ECG Waveform Storage with a Waveform "
                  "Sequence of 8/16/32-bit integer samples)")


def read_dicom(name: str, data: bytes, fs: float | None) -> Record:
    """A DICOM ECG waveform file -> Record; fs None or equal to the chosen group's rate."""
    with warnings.catch_warnings():      # pydicom warns on each odd value it decodes lazily
        warnings.simplefilter("ignore")
        return _read_dicom(name, data, fs)


def _read_dicom(name: str, data: bytes, fs: float | None) -> Record:
    where = show(name)
    if len(data) < 132 or data[128:132] != b"DICM":
        raise UploadError(f"{where} is not a DICOM Part 10 file (no 'DICM' marker at byte 128): "
                          f"upload {ACCEPTED_DICOM}")
    ds = _parse(where, data)
    try:
        groups = list(ds.get("WaveformSequence") or [])
    except Exception as err:  # noqa: BLE001 - pydicom decodes lazily: any failure is a refusal
        raise UploadError(f"{where}: its Waveform Sequence cannot be read ({show(err, 100)}): "
                          f"upload {ACCEPTED_DICOM}") from None
    if not groups:
        what = show(getattr(ds.get("SOPClassUID"), "name", None) or ds.get("SOPClassUID") or "unknown",
                    50)
        raise UploadError(f"{where} holds no waveform (DICOM SOP class {what}, no Waveform Sequence "
                          f"(5400,0100)); an image or report is not an ECG: upload {ACCEPTED_DICOM}")
    if len(groups) > MAX_GROUPS:
        raise UploadError(f"{where}: {len(groups)} multiplex groups; at most {MAX_GROUPS} are accepted")
    try:
        infos = [_group_info(g) for g in groups]
        choice, notes = _choose(where, infos)
        g, info = groups[choice], infos[choice]
        rate = check_rate(info["fs"], f"{where} (multiplex group {choice + 1})")
        check_given_rate(fs, rate, where, "DICOM")
        n, nch = info["samples"], info["channels"]
        if not isinstance(n, int) or n < 0:
            raise UploadError(f"{where}: Number of Waveform Samples {show(n)} is not a count")
        check_duration(n, rate, f"{where} (multiplex group {choice + 1})")
        x, unit_notes = _decode(where, g, info, choice)
    except UploadError:
        raise
    except Exception as err:  # noqa: BLE001 - malformed values inside pydicom: a refusal
        raise UploadError(f"{where}: a waveform attribute cannot be read ({type(err).__name__}: "
                          f"{show(err, 100)}): upload {ACCEPTED_DICOM}") from None
    names, cols, derived = derive_missing(info["names"], [x[:, j] for j in range(nch)])
    order, lead_notes = lead_order(names, f"{where} (multiplex group {choice + 1})")
    y = np.empty((n, 12), np.float32)
    for i, k in enumerate(order):
        y[:, i] = cols[k]
    del x, cols
    notes += derived + unit_notes + [f"read {n} samples x 12 leads at {rate:g} Hz from DICOM "
                                     f"multiplex group {choice + 1} ({info['label']})"]
    aside = [nm for k, nm in enumerate(names) if k not in order]
    return upload_record(y, rate, "DICOM", name, notes + lead_notes, original_leads=info["names"],
                         set_aside=aside, **_metadata(ds))


MAX_ELEMENTS = 50_000       # a 12-lead ECG file holds a few hundred data elements
_LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
_SYNTAXES = {b"1.2.840.10008.1.2": False, b"1.2.840.10008.1.2.1": True}   # implicit / explicit VR LE


def count_elements(data: bytes, cap: int = MAX_ELEMENTS) -> tuple[int, bool | None]:
    """(data elements in the file, counted up to cap + 1, nested items included; explicit VR?).

    A byte-level walk of the tag/length structure, linear and cheap: pydicom spends ~15 us on each
    element it parses (a 4 MB file of 500,000 empty elements took 7.6 s), so the count is
    checked first. Explicit VR None: the transfer syntax is not little endian (left to pydicom)."""
    import struct
    from pydicom.datadict import dictionary_VR
    at = data.find(b"\x02\x00\x10\x00UI", 132, 132 + 4096)
    uid = data[at + 8:at + 8 + struct.unpack_from("<H", data, at + 6)[0]].rstrip(b"\0 ") \
        if 0 < at <= len(data) - 8 else b""
    explicit = _SYNTAXES.get(uid)
    if explicit is None:
        return 0, None
    pos, n, size = 132, 0, len(data)
    while pos + 12 <= size and n <= cap:     # (a truncated last element is left to pydicom)
        group, elem = struct.unpack_from("<HH", data, pos)
        n += 1
        if group == 0xFFFE:                     # item (descend) or a delimiter
            length = struct.unpack_from("<I", data, pos + 4)[0]
            pos += 8 + (length if elem != 0xE000 and length != 0xFFFFFFFF else 0)
            continue
        if explicit or group == 2:
            vr = data[pos + 4:pos + 6]
            long = vr in _LONG_VRS
            length = struct.unpack_from("<I" if long else "<H", data, pos + (8 if long else 6))[0]
            pos += 12 if long else 8
        else:
            length = struct.unpack_from("<I", data, pos + 4)[0]
            try:
                vr = dictionary_VR((group << 16) | elem).encode()
            except KeyError:
                vr = b"UN"
            pos += 8
        if vr != b"SQ" and length != 0xFFFFFFFF:
            pos += length                        # a value: skipped; a sequence: its items are walked
    return n, explicit


def _parse(where: str, data: bytes):
    import pydicom
    n, _ = count_elements(data)
    if n > MAX_ELEMENTS:
        raise UploadError(f"{where} holds more than {MAX_ELEMENTS:,} DICOM data elements; a 12-lead "
                          "ECG file holds a few hundred: refused (damaged or crafted)")
    try:
        ds = pydicom.dcmread(io.BytesIO(data))
        syntax = ds.file_meta.get("TransferSyntaxUID")
        little = True if syntax is None else bool(syntax.is_little_endian)
        compressed = syntax is not None and syntax.is_compressed
    except Exception as err:  # noqa: BLE001 - third-party parser on untrusted bytes: a refusal
        raise UploadError(f"{where}: pydicom cannot read it as DICOM ({type(err).__name__}: "
                          f"{show(err, 100)}): the file is damaged or truncated; upload "
                          f"{ACCEPTED_DICOM}") from None
    if not little or compressed:
        raise UploadError(f"{where}: transfer syntax {show(syntax.name, 50)} is not accepted; "
                          "accepted: Implicit or Explicit VR Little Endian (re-export the ECG "
                          "uncompressed)")
    return ds


def _group_info(g) -> dict:
    """What a multiplex group declares: rate, sizes, sample type, channel names, label."""
    chans = list(g.get("ChannelDefinitionSequence") or [])
    names = []
    for ch in chans[:MAX_CHANNELS]:
        src = (ch.get("ChannelSourceSequence") or [None])[0]
        names.append(label(src.get("CodeValue"), src.get("CodeMeaning")) if src is not None else "?")
    return {"fs": g.get("SamplingFrequency"), "samples": g.get("NumberOfWaveformSamples"),
            "channels": g.get("NumberOfWaveformChannels"), "bits": g.get("WaveformBitsAllocated"),
            "interp": str(g.get("WaveformSampleInterpretation") or ""), "chans": chans,
            "names": names, "label": str(g.get("MultiplexGroupLabel") or "unlabelled")[:40],
            "original": str(g.get("WaveformOriginality") or "").upper() != "DERIVED"}


def _choose(where: str, infos: list[dict]) -> tuple[int, list[str]]:
    """Index of the group to read: all 12 leads (or the 8 independent ones), ORIGINAL first, then
    the longest; refuses naming each group's leads when none has them."""
    from .lead_codes import INDEPENDENT
    ok = [k for k, i in enumerate(infos) if all(lead in i["names"] for lead in INDEPENDENT)]
    if not ok:
        seen = "; ".join(f"group {k + 1} ({i['label']}): {listing(i['names'], 12) or 'no channels'}"
                         for k, i in enumerate(infos[:4]))
        raise UploadError(f"{where}: no multiplex group holds the 12 leads ({seen}). Accepted: a "
                          "group with channels coded as the leads I, II, III, aVR, aVL, aVF, V1-V6 "
                          "(Channel Source Sequence)")

    def length(i: dict) -> float:
        try:
            return float(i["samples"]) / float(i["fs"])
        except (TypeError, ValueError, ZeroDivisionError, OverflowError):
            return 0.0
    best = max(ok, key=lambda k: (infos[k]["original"], length(infos[k])))
    notes = []
    if len(infos) > 1:
        others = [f"{i['label']}" for k, i in enumerate(infos) if k != best]
        notes.append(f"DICOM multiplex group {best + 1} ({infos[best]['label']}) read; other "
                     f"group{'s' * (len(others) > 1)} not used: {listing(others)}")
    return best, notes


def _decode(where: str, g, info: dict, choice: int) -> tuple[np.ndarray, list[str]]:
    """Samples (n, channels) float64 in mV, after checking the declared sizes against the bytes."""
    n, nch, bits, interp = info["samples"], info["channels"], info["bits"], info["interp"]
    gw = f"{where} (multiplex group {choice + 1})"
    if not isinstance(nch, int) or not 1 <= nch <= MAX_CHANNELS or nch != len(info["chans"]):
        raise UploadError(f"{gw}: Number of Waveform Channels {show(nch)} does not match its "
                          f"{len(info['chans'])} channel definitions (1-{MAX_CHANNELS} accepted)")
    dtype = SAMPLE_DTYPES.get((bits, interp))
    if dtype is None:
        raise UploadError(f"{gw}: samples of {show(bits)} bits, interpretation {show(interp)}, are "
                          "not accepted; accepted: 8-bit SB/UB, 16-bit SS/US, 32-bit SL/UL integers "
                          "(mu-law and A-law are not)")
    raw = g.get("WaveformData")
    need = n * nch * np.dtype(dtype).itemsize
    have = 0 if raw is None else len(raw)
    if have < need or have > need + 1:          # one pad byte keeps an even length
        raise UploadError(f"{gw}: Waveform Data holds {have} bytes but {n} samples x {nch} channels "
                          f"x {bits} bits need {need}: the file is "
                          f"{'truncated' if have < need else 'padded'} "
                          "or its sizes are wrong")
    d = np.frombuffer(raw, dtype, count=n * nch).reshape(n, nch)
    x = np.empty((n, nch), np.float32)     # float32: 4 bytes a sample, exact to ~1e-7 relative
    units = set()
    for j, ch in enumerate(info["chans"]):
        seq = ch.get("ChannelSensitivityUnitsSequence") or [None]
        unit = str(seq[0].get("CodeValue") or "") if seq[0] is not None else ""
        factor = UNITS_TO_MV.get(unit.lower())
        sens = ch.get("ChannelSensitivity")
        if factor is None or sens is None:
            if info["names"][j] in LEADS:
                raise UploadError(f"{gw}: channel {j + 1} ({info['names'][j]}) has sensitivity "
                                  f"{show(sens)} in units {show(unit or 'none')}; accepted: a "
                                  "Channel Sensitivity in uV, mV or V")
            x[:, j] = d[:, j]      # not a lead: kept only to be set aside
            continue
        scale = float(sens) * float(ch.get("ChannelSensitivityCorrectionFactor", 1.0))
        base = float(ch.get("ChannelBaseline", 0.0))
        x[:, j] = d[:, j] * (scale * factor) + base * factor
        units.add(unit)
    notes = [f"units converted from {'/'.join(sorted(u for u in units if u.lower() != 'mv'))} to mV"] \
        if any(u.lower() != "mv" for u in units) else []
    return x, notes


def _metadata(ds) -> dict:
    """Age and sex from the DICOM patient module ('056Y', 'M'/'F') and the SOP class."""
    out: dict = {}
    try:
        age = str(ds.get("PatientAge") or "")
        if len(age) == 4 and age[:3].isdigit() and age[3] in "Y":
            out["age"] = int(age[:3])
        sex = str(ds.get("PatientSex") or "").upper()
        if sex in ("M", "F"):
            out["sex"] = "male" if sex == "M" else "female"
        sop = ds.get("SOPClassUID")
        if sop is not None:
            out["dicom_sop_class"] = str(getattr(sop, "name", sop))[:80]
    except Exception:  # noqa: BLE001 - metadata is optional
        pass
    return out
