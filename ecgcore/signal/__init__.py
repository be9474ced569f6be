"""The ECG signal and what is computed from it: the record contract, the three views, quality,
wave delineation (delineate, waves), median beats and clinical measurements (measure).

Depends on nothing else in ecgcore."""
