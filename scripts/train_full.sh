#!/usr/bin/env bash
# Train the three networks and fit the fusion on a full PTB-XL folder, in the background-friendly
# order of docs/selection_log.md (session 5). Resumable: rerun it and each training continues from
# its last epoch checkpoint (OUT/runs/NAME/last.pt); finished models (OUT/NAME.pt newer than the
# checkpoint) are skipped.
#
#   nohup bash scripts/train_full.sh data/ptb-xl runs/full > runs/train_full.log 2>&1 &
set -euo pipefail
DATA=${1:-data/ptb-xl}
OUT=${2:-runs/full}
mkdir -p "$OUT"
for name in signal spectrum scalogram; do
  ck="$OUT/runs/$name/last.pt"
  if [ -f "$OUT/$name.pt" ] && { [ ! -f "$ck" ] || [ "$OUT/$name.pt" -nt "$ck" ]; }; then
    echo "$name: $OUT/$name.pt already written, skipping"; continue
  fi
  python -m ecgcore.models.train "$name" --data "$DATA" --out "$OUT" --threads 2 --resume
done
python -m ecgcore.models.fusion fit --data "$DATA" --weights "$OUT"
