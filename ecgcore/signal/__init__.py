"""The ECG signal and what is computed from it: the record contract, the three views, quality.

Depends on nothing else in ecgcore."""
