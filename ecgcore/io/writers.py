"""Write a Record as DICOM ECG, HL7 aECG or EDF bytes (export, round-trip tests, fuzz seeds).

Each writer stores the 12 leads as integers at a resolution of `resolution_uv` microvolts
(default 1 uV, PTB-XL's own resolution), so a round trip through the matching reader gives the
same samples to within half that step. Values beyond the 16-bit range at that resolution are
refused (ValueError naming the lead and the range).
"""
from __future__ import annotations

import io

import numpy as np

from ..signal.record import LEADS, Record

SCP_CODES = {"I": 1, "II": 2, "V1": 3, "V2": 4, "V3": 5, "V4": 6, "V5": 7, "V6": 8,
             "III": 61, "aVR": 62, "aVL": 63, "aVF": 64}


def _digital(record: Record, resolution_uv: float) -> np.ndarray:
    """(T, 12) int16 of the signal in steps of resolution_uv."""
    d = np.rint(np.asarray(record.signal, np.float64) * (1000.0 / resolution_uv))
    peak = np.abs(d).max(axis=0)
    if (peak > 32767).any():
        j = int(np.argmax(peak))
        raise ValueError(f"lead {LEADS[j]} reaches {peak[j] * resolution_uv / 1000:.3f} mV, beyond "
                         f"the int16 range at {resolution_uv:g} uV a step: use a larger resolution_uv")
    return d.astype(np.int16)


def write_dicom_ecg(record: Record, resolution_uv: float = 1.0, patient_age: int | None = None,
                    patient_sex: str | None = None) -> bytes:
    """A DICOM Part 10 '12-lead ECG Waveform Storage' file: one RHYTHM multiplex group, 16-bit SS
    samples, Channel Sensitivity `resolution_uv` uV, channels coded SCPECG 5.6.3-9-N."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.sequence import Sequence
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid
    sop = "1.2.840.10008.5.1.4.1.1.9.1.1"
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = sop, generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = sop, meta.MediaStorageSOPInstanceUID
    ds.Modality, ds.PatientName, ds.PatientID = "ECG", "Anonymous", "0"
    if patient_age is not None:
        ds.PatientAge = f"{int(patient_age):03d}Y"
    if patient_sex:
        ds.PatientSex = patient_sex[:1].upper()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    d = _digital(record, resolution_uv)
    group = Dataset()
    group.MultiplexGroupLabel, group.WaveformOriginality = "RHYTHM", "ORIGINAL"
    group.SamplingFrequency = f"{record.fs:g}"
    group.NumberOfWaveformChannels, group.NumberOfWaveformSamples = 12, d.shape[0]
    group.WaveformBitsAllocated, group.WaveformSampleInterpretation = 16, "SS"
    channels = []
    for lead in LEADS:
        src, unit, ch = Dataset(), Dataset(), Dataset()
        src.CodeValue, src.CodingSchemeDesignator = f"5.6.3-9-{SCP_CODES[lead]}", "SCPECG"
        src.CodeMeaning = f"Lead {lead}"
        unit.CodeValue, unit.CodingSchemeDesignator, unit.CodeMeaning = "uV", "UCUM", "microvolt"
        ch.ChannelSourceSequence, ch.ChannelSensitivityUnitsSequence = Sequence([src]), Sequence([unit])
        ch.ChannelSensitivity, ch.ChannelSensitivityCorrectionFactor = f"{resolution_uv:g}", "1"
        ch.ChannelBaseline, ch.WaveformBitsStored = "0", 16
        channels.append(ch)
    group.ChannelDefinitionSequence = Sequence(channels)
    group.WaveformData = d.astype("<i2").tobytes()
    ds.WaveformSequence = Sequence([group])
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def write_aecg(record: Record, resolution_uv: float = 1.0) -> bytes:
    """An HL7 aECG (AnnotatedECG) XML document: one rhythm series, a TIME_ABSOLUTE sequence and 12
    SLIST_PQ sequences coded MDC_ECG_LEAD_*, origin 0 uV, scale `resolution_uv` uV."""
    from xml.sax.saxutils import quoteattr
    d = _digital(record, resolution_uv)
    inc = 1.0 / record.fs
    seqs = [f'<component><sequence><code code="TIME_ABSOLUTE" codeSystem="2.16.840.1.113883.5.4"/>'
            f'<value xsi:type="GLIST_TS"><head value="20000101000000.000"/>'
            f'<increment value={quoteattr(repr(inc))} unit="s"/></value></sequence></component>']
    for j, lead in enumerate(LEADS):
        digits = " ".join(map(str, d[:, j].tolist()))
        seqs.append(f'<component><sequence><code code="MDC_ECG_LEAD_{lead.upper()}" '
                    f'codeSystem="2.16.840.1.113883.6.24"/><value xsi:type="SLIST_PQ">'
                    f'<origin value="0" unit="uV"/><scale value="{resolution_uv:g}" unit="uV"/>'
                    f'<digits>{digits}</digits></value></sequence></component>')
    doc = ('<?xml version="1.0" encoding="UTF-8"?>\n'
           '<AnnotatedECG xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
           '<id root="2.16.840.1.113883.3.1"/><code code="93000" codeSystem="2.16.840.1.113883.6.12"/>'
           '<component><series><code code="RHYTHM" codeSystem="2.16.840.1.113883.5.4"/>'
           '<component><sequenceSet>' + "".join(seqs) + '</sequenceSet></component>'
           '</series></component></AnnotatedECG>\n')
    return doc.encode("utf-8")


def write_edf(record: Record, resolution_uv: float = 1.0, labels: list[str] | None = None) -> bytes:
    """An EDF file (edfio): 12 signals labelled 'ECG I' ... 'ECG V6' in uV, 16-bit, physical range
    +-32768 x resolution_uv so one digital step is exactly resolution_uv; 1 s data records (the
    signal is cut to whole seconds)."""
    import edfio
    d = _digital(record, resolution_uv)
    per_record = int(round(record.fs))
    if abs(per_record - record.fs) > 1e-9:
        raise ValueError(f"EDF export needs a whole-number rate for 1 s records, got {record.fs:g} Hz")
    n = d.shape[0] // per_record * per_record
    lo, hi = -32768 * resolution_uv, 32767 * resolution_uv
    names = labels or [f"ECG {lead}" for lead in LEADS]
    signals = [edfio.EdfSignal(d[:n, j].astype(np.float64) * resolution_uv, record.fs, label=names[j],
                               physical_dimension="uV", physical_range=(lo, hi),
                               digital_range=(-32768, 32767)) for j in range(12)]
    edf = edfio.Edf(signals, data_record_duration=1.0)
    buf = io.BytesIO()
    edf.write(buf)
    return buf.getvalue()
