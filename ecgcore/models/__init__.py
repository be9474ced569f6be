"""Networks, their registry and training, calibration, fusion, prediction and evaluation.

Depends on `ecgcore.signal` and `ecgcore.io`."""
