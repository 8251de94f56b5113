#!/usr/bin/env bash
# Smoke test of a built bundle (or any archstudio executable): offline, offscreen.
#   bash packaging/smoke_test.sh dist/archstudio/archstudio
set -euo pipefail
exe="${1:-dist/archstudio/archstudio}"
export QT_QPA_PLATFORM=offscreen HF_HUB_OFFLINE=1 HF_ENDPOINT=http://127.0.0.1:9
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
export ARCHSTUDIO_CACHE_DIR="$tmp/cache" ARCHSTUDIO_DATA_DIR="$tmp/data"
"$exe" --version
"$exe" doctor
ids=$("$exe" presets --json | python3 -c "import json,sys; print(' '.join(p['id'] for p in json.load(sys.stdin)))")
n=0
for id in $ids; do
  "$exe" render "$id" --out "$tmp/$id.png" --size 1366x768 >/dev/null
  test -s "$tmp/$id.png"
  n=$((n + 1))
done
echo "rendered $n presets"
"$exe" train 2023-07-llama-2 --data starter --steps 20 --batch-size 4 --context 64 --out "$tmp/run"
"$exe" generate "$tmp/run" --prompt "Once upon a time" --max-new-tokens 20 --temperature 0
echo "smoke test passed"
