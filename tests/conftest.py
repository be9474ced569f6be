"""Shared fixtures: the PTB-XL folder (../shared/ptbxl in CI via PTBXL_DIR)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def ptbxl_path() -> Path | None:
    path = os.environ.get("PTBXL_DIR") or (REPO.parent / "shared" / "ptbxl")
    path = Path(path)
    return path if (path / "ptbxl_database.csv").is_file() else None


@pytest.fixture(scope="session")
def ptbxl_dir() -> Path:
    path = ptbxl_path()
    if path is None:
        pytest.skip("PTB-XL folder not found: set PTBXL_DIR")
    os.environ["PTBXL_DIR"] = str(path)
    return path


@pytest.fixture(scope="session")
def index(ptbxl_dir):
    from ecgcore.io.ptbxl import load_index
    return load_index(ptbxl_dir)


@pytest.fixture(scope="session")
def scored_cache(tmp_path_factory, ptbxl_dir) -> Path:
    """A cache folder holding the score file of the PTB-XL folder's fold 10 (`python -m ecgcore.score`)."""
    from ecgcore.score import ptbxl_source, score
    from ecgcore.score.outcomes import scores_path
    cache = tmp_path_factory.mktemp("cache")
    source, keys = ptbxl_source(ptbxl_dir, (10,))
    score(source, keys, scores_path(ptbxl_dir, cache), workers=0, progress=False)
    return cache
