#!/usr/bin/env bash
# Installs everything annex needs on a fresh Debian machine (run as root, or with sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
APT_PACKAGES=(libreoffice-writer-nogui libreoffice-calc-nogui fonts-noto-cjk fonts-ipaexfont poppler-utils postgresql-client chromium)
missing=()
for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# The versions the suite runs on (constraints.txt; ./scripts/lock.sh regenerates it).
python3 -m pip install -q --disable-pip-version-check -e ".[test]" -c constraints.txt
# The Windows Japanese font names the workbooks use (ＭＳ Ｐゴシック …) → the IPAex fonts, for LibreOffice.
$SUDO install -D -m 0644 scripts/fontconfig/65-annex-japanese.conf /etc/fonts/conf.d/65-annex-japanese.conf
$SUDO fc-cache -f >/dev/null 2>&1 || true
