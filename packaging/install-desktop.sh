#!/usr/bin/env bash
# Put the bundle's launcher and icons into the user's desktop menu (no root needed).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
apps="${XDG_DATA_HOME:-$HOME/.local/share}/applications"
icons="${XDG_DATA_HOME:-$HOME/.local/share}/icons/hicolor"
mkdir -p "$apps"
for s in 16 24 32 48 64 128 256 512; do
  mkdir -p "$icons/${s}x${s}/apps"
  cp "$here/_internal/icons/archstudio-$s.png" "$icons/${s}x${s}/apps/archstudio.png"
done
mkdir -p "$icons/scalable/apps" && cp "$here/_internal/icons/archstudio.svg" "$icons/scalable/apps/archstudio.svg"
sed "s|^Exec=archstudio|Exec=$here/archstudio|" "$here/archstudio.desktop" > "$apps/archstudio.desktop"
echo "installed $apps/archstudio.desktop"
