#!/usr/bin/env bash
# deps.sh: install the Debian packages lipvae needs to build and test.
# Idempotent; run as root (or with sudo available).
set -euo pipefail
# clang and its runtime (libFuzzer, ASan, UBSan) and valgrind: the hardening stages
PKGS="postgresql-15 postgresql-server-dev-15 libopenblas-dev libcmocka-dev make gcc clang-format clang libclang-rt-14-dev valgrind"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	SUDO=""
	[ "$(id -u)" = 0 ] || SUDO="sudo"
	echo "deps: installing$missing"
	$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq $missing >/dev/null
fi
