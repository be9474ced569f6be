"""The demo set shipped in the repository, and the app's one fallback to it.

`demo/ptb-xl` holds about 60 real PTB-XL records in the official layout (CC BY 4.0, attribution in
its README; built by `scripts/make_demo.py`). Only the dashboard opens it, through
`app_data_dir()`, when no PTB-XL folder is configured. Every command (train, evaluate, fusion,
download, ...) reads `ptbxl.ptbxl_dir()`, which never falls back to the demo: trained or evaluated
on 60 records, a model would be meaningless.
"""
from __future__ import annotations

import os
from pathlib import Path

from . import ptbxl

DEMO_DIR = ptbxl.REPO_ROOT / "demo" / "ptb-xl"


def is_demo(path: str | os.PathLike) -> bool:
    """True when `path` is the demo folder shipped in the repository."""
    return Path(path).expanduser().resolve() == DEMO_DIR.resolve()


def app_data_dir() -> tuple[Path, bool]:
    """(PTB-XL folder the app opens, whether it is the demo set).

    $PTBXL_DIR when set (even when it is not a PTB-XL folder: the app then says what is missing);
    else `data/ptb-xl` (`ptbxl.DEFAULT_DIR`) when it holds PTB-XL's metadata; else the demo set.
    """
    configured = ptbxl.ptbxl_dir()
    if os.environ.get("PTBXL_DIR") or not ptbxl.missing_files(configured) or ptbxl.missing_files(DEMO_DIR):
        return configured, is_demo(configured)
    return DEMO_DIR.resolve(), True
