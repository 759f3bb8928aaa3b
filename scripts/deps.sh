#!/usr/bin/env bash
# deps.sh: install the Debian packages lipvae needs to build and test.
# Idempotent; run as root (or with sudo available).
set -euo pipefail
PKGS="postgresql-15 postgresql-server-dev-15 libopenblas-dev libcmocka-dev make gcc clang-format"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	SUDO=""
	[ "$(id -u)" = 0 ] || SUDO="sudo"
	echo "deps: installing$missing"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi
