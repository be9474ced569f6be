"""Hostile-input fuzzing of `read_upload` with mutations of real PTB-XL records.

    python -m ecgcore.fuzz --cases 50000 [--seed 0] [--timeout 20] [--trace-every 50]

Seeds are real PTB-XL files (the original .hea/.dat bytes, other WFDB formats written
from the same signals, CSV, NPY, DICOM ECG, HL7 aECG and EDF exports); each case stacks 1-3
random mutations (truncation, bit flips, header field edits, lead renames, ragged CSV, pickled
NPY, DICOM attribute edits, XML bombs, EDF header fields, ...).
Every case must end in a valid Record or an UploadError: an unhandled exception, a case
over --timeout or an invalid Record is a failure and makes the exit status 1.
"""
from __future__ import annotations

from .mutations import make_case
from .run import MEMORY_BOUND, fuzz, input_bytes, main, run_case, run_traced, summary_line
from .seeds import CELLS, CSV_NAMES, FS_POOL, NAMES, TOKENS, Case, format_seeds, load_seeds

__all__ = ["CELLS", "CSV_NAMES", "FS_POOL", "MEMORY_BOUND", "NAMES", "TOKENS", "Case", "fuzz", "input_bytes",
           "format_seeds", "load_seeds", "main", "make_case", "run_case", "run_traced", "summary_line"]
