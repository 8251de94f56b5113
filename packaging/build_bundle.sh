#!/usr/bin/env bash
# Build the one-folder Linux bundle from a clean clone, then smoke-test it offscreen.
#   bash packaging/build_bundle.sh [--skip-smoke]
# Output: dist/archstudio/ (run dist/archstudio/archstudio), plus install-desktop.sh inside it.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q -c constraints.txt -e . "pyinstaller>=6.0"
start=$(date +%s)
pyinstaller --noconfirm --clean --distpath dist --workpath build/pyinstaller packaging/archstudio.spec
cp packaging/archstudio.desktop dist/archstudio/
cp packaging/install-desktop.sh dist/archstudio/
echo "built dist/archstudio in $(( $(date +%s) - start )) s, size $(du -sh dist/archstudio | cut -f1)"
if [ "${1:-}" != "--skip-smoke" ]; then
  bash packaging/smoke_test.sh dist/archstudio/archstudio
fi
