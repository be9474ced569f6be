"""Readers: PTB-XL (index, records, download, demo set) and uploaded ECG files (WFDB, CSV, ...).

Depends on `ecgcore.signal` only."""
