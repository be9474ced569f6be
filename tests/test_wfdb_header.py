"""The strict WFDB header parser: a real PTB-XL header parses; each bad field is named and refused."""
from __future__ import annotations

import pytest

from ecgcore.io.checks import UploadError
from ecgcore.io.wfdb_header import WFDB_FORMATS, check_wfdb_signals, dat_bytes, parse_header


@pytest.fixture()
def header(ptbxl_dir) -> bytes:
    return (ptbxl_dir / "records100" / "00000" / "00001_lr.hea").read_bytes()


def test_real_ptbxl_header_parses(header):
    h = parse_header("00001_lr.hea", header)
    assert h["fs"] == 100.0 and h["sig_len"] == 1000 and len(h["signals"]) == 12
    assert [s["name"] for s in h["signals"]][:3] == ["I", "II", "III"]
    assert dat_bytes("16", 1000) == 1000 * WFDB_FORMATS["16"]


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace(b"12 100 1000", b"12 abc 1000", 1), "sampling frequency"),
    (lambda t: t.replace(b"12 100 1000", b"12", 1), "no sampling frequency"),
    (lambda t: t.replace(b"12 100 1000", b"13 100 1000", 1), "declares 13 signals"),
    (lambda t: t.replace(b"00001_lr.dat 16", b"../../etc/passwd 16", 1), "not a plain file"),
    (lambda t: t.replace(b" 16 1000.0(0)/mV", b" 16abc 1000.0(0)/mV", 1), "not a WFDB format"),
    (lambda t: t + b"x" * (300 * 1024), "a WFDB header is a few KB"),
    (lambda t: t.replace(b"00001_lr", b"\xff\xfe", 1), "UTF-8"),
])
def test_bad_fields_are_refused_by_name(header, edit, message):
    with pytest.raises(UploadError, match=message.replace("(", r"\(")):
        parse_header("rec.hea", edit(header))


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace(b" 16 1000.0(0)/mV", b" 999 1000.0(0)/mV"), "format 999 is not accepted"),
    (lambda t: t.replace(b" 16 1000.0(0)/mV", b" 212 1000.0(0)/mV", 1), "different WFDB formats"),
    (lambda t: t.replace(b"1000.0(0)/mV", b"1000.0(0)/furlong", 1), "units"),
])
def test_signal_lines_are_checked_together(header, edit, message):
    h = parse_header("rec.hea", edit(header))
    with pytest.raises(UploadError, match=message):
        check_wfdb_signals("rec.hea", "00001_lr.dat", h["signals"])


def test_accepted_signals_give_format_and_sample_count(header):
    out = check_wfdb_signals("rec.hea", "00001_lr.dat", parse_header("rec.hea", header)["signals"])
    assert out[0] == "16"


@pytest.mark.parametrize("token, outcome", [
    ("E00009.mat", "E00009"), ("A0001.hea", "A0001"), ("rec_1-a", "rec_1-a"),
    ("rec/2", "declares a multi-segment record"), ("../x", "is a path, not a plain WFDB record name"),
    ("a.b.c", "is not a plain WFDB record name"),
])
def test_record_line_names(header, token, outcome):
    edited = token.encode() + header[header.index(b" "):]
    if " " in outcome:
        with pytest.raises(UploadError, match=outcome):
            parse_header("rec.hea", edited)
    else:
        h = parse_header("rec.hea", edited)
        assert h["record"] == outcome and (h["notes"] == []) == (token == outcome)


def test_comments_are_kept(header):
    h = parse_header("rec.hea", header + b"# Age: 50\n#Sex: F\n")
    assert h["comments"] == ["Age: 50", "Sex: F"]
