"""Score a whole archive: every record through the three networks, the fusion and the quality check.

    python -m ecgcore.score data/ptb-xl --folds 9 10 --out scores.parquet     # PTB-XL folder
    python -m ecgcore.score uploads/ --out scores.parquet                      # any upload formats

One row per record (`ecg_id` or `path`), `status` ok / refused / error with its `reason`,
calibrated probabilities `p_{model}_{class}`, fused calls, abstention and quality, and the
SHA-256 of each weights file. Runs on Dask (a LocalCluster by default, `--scheduler` for an
existing cluster) or in this process (`--workers 0`); resumes; a crash loses at most the
batches in flight. Depends on signal, io, models.
"""
from .batch import score_batch
from .run import score
from .sources import Source, folder_source, ptbxl_source

__all__ = ["score", "score_batch", "Source", "folder_source", "ptbxl_source"]
