"""What to score: the records of a PTB-XL folder, or the ECG files of a folder of uploads.

A `Source` is plain data (picklable, sent to Dask workers): a kind, a root and the record keys.
PTB-XL keys are ecg_ids; folder keys are groups of files that make one record (a WFDB `.hea`
with its same-stem signal files; any other file on its own), named by the path of the first file.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..io import ptbxl
from ..io.checks import check_size
from ..io.readers import SIGNAL_EXTS, read_upload
from ..signal.record import Record

MAX_FILES = 2_000_000


@dataclass(frozen=True)
class Source:
    """kind: 'ptbxl' or 'folder'; root: the folder; fs: the rate for files that do not state one
    (uploads only); groups: folder keys -> the file paths (relative to root) of that record."""
    kind: str
    root: str
    fs: float | None = None
    groups: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def key_column(self) -> str:
        return "ecg_id" if self.kind == "ptbxl" else "path"

    def subset(self, keys: list, lookup: dict | None = None) -> "Source":
        """The same source with only `keys`' file groups (what one batch's task needs to carry).
        lookup: dict(self.groups), built once by the caller for many subsets."""
        if self.kind == "ptbxl":
            return self
        groups = lookup if lookup is not None else dict(self.groups)
        return Source(self.kind, self.root, self.fs, tuple((k, groups[k]) for k in keys))


def ptbxl_source(root: str | os.PathLike | None = None,
                 folds: tuple[int, ...] | None = None) -> tuple[Source, list[int]]:
    """A PTB-XL folder's records that have 100 Hz signal files, optionally only `folds`."""
    index = ptbxl.load_index(root)
    keep = index["has_100"]
    if folds:
        bad = sorted(set(folds) - set(range(1, 11)))
        if bad:
            raise ValueError(f"--folds must be PTB-XL strat_folds 1-10, got {bad}")
        keep &= index["fold"].isin(folds)
    return Source("ptbxl", index.attrs["root"]), [int(i) for i in index.index[keep]]


def folder_source(root: str | os.PathLike, fs: float | None = None) -> tuple[Source, list[str]]:
    """Every record in a folder of uploads (searched recursively, hidden files skipped)."""
    root_path = Path(root)
    if not root_path.is_dir():
        raise ValueError(f"{root}: not a folder; give a PTB-XL folder or a folder of ECG files")
    files = []
    for dirpath, dirnames, names in os.walk(root_path):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        files += [Path(dirpath, n).relative_to(root_path).as_posix() for n in sorted(names)
                  if not n.startswith(".")]
        if len(files) > MAX_FILES:
            raise ValueError(f"{root}: more than {MAX_FILES:,} files; score it in parts")
    groups = group_files(files)
    return Source("folder", str(root_path), fs, tuple(groups.items())), list(groups)


def group_files(files: list[str]) -> dict[str, tuple[str, ...]]:
    """Relative paths -> {key: files of one record}. A `.hea` takes its same-stem signal files."""
    stems = {f.rsplit(".", 1)[0] for f in files if f.lower().endswith(".hea")}
    groups: dict[str, list[str]] = {}
    for f in files:
        stem, _, ext = f.rpartition(".")
        if stem in stems and (ext.lower() == "hea" or ext.lower() in SIGNAL_EXTS):
            groups.setdefault(stem + ".hea", []).append(f)
        else:
            groups[f] = [f]
    return {k: tuple(sorted(v, key=lambda p: not p.lower().endswith(".hea"))) for k, v in sorted(groups.items())}


def read_item(source: Source, key, groups: dict | None = None) -> Record:
    """One record of the source; UploadError / FileNotFoundError / ValueError when it cannot be read."""
    if source.kind == "ptbxl":
        return ptbxl.load_record(int(key), 100, source.root)
    paths = (groups or dict(source.groups))[key]
    files = []
    for rel in paths:
        check_size(Path(rel).name, os.path.getsize(Path(source.root, rel)))   # before reading it
        with open(Path(source.root, rel), "rb") as f:
            files.append((Path(rel).name, f.read()))
    return read_upload(files, source.fs)
