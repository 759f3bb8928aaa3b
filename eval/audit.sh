#!/usr/bin/env bash
# audit.sh [--production] [audit options]: the larger canary
# membership-inference audit of the central mechanism (eval/audit.c over
# src/core/privacy/lv_audit.c; the CI version is test/test_audit.c). Builds the
# program against the core sources of this tree, runs it on one thread and
# writes the table to eval/results/audit/results.md (results-production.md
# with --production) as well as to the terminal.
#
#   bash eval/audit.sh                 the CI setting (300 rows, hidden 32,
#                                      latent 4, no EMA) with 30 + 300 trials
#                                      per side, claimed eps 0.5,1,2,4:
#                                      about 2 minutes on one core
#   bash eval/audit.sh --production    lipvae's central defaults (hidden 128,
#                                      latent 8, EMA 0.99, batch 512, the tree
#                                      correction on half the budget) on 2000
#                                      rows, 10^5 released rows per model,
#                                      20 + 100 trials, eps 1: about 3 minutes
#   bash eval/audit.sh --eps 1,8 --trials 500   (options of eval/audit.c are
#                                      passed on; later ones win)
#
# Needs gcc and libopenblas-dev.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
preset=()
name=results
if [ "${1:-}" = "--production" ]; then
	shift
	preset=(--rows 2000 --batch 512 --epochs 30 --hidden 128 --latent 8
		--lr 0.005 --ema 0.99 --clip 1 --release 100000 --calib 20
		--trials 100 --eps 1 --no-clipped --marginals-share 0.5 --tree)
	name=results-production
fi
bin=$(mktemp "${TMPDIR:-/tmp}/lipvae-audit.XXXXXX")
trap 'rm -f "$bin"' EXIT
gcc -O2 -std=gnu99 -Wall -Wextra -Werror -Wno-unused-parameter \
	-I"$root/src/core/privacy" -I"$root/src/core/model" -I"$root/src/core/fit" -I"$root/src/core/measure" \
	-o "$bin" "$here/audit.c" "$root"/src/core/*/*.c \
	-lopenblas -lm
mkdir -p "$here/results/audit"
out="$here/results/audit/$name.md"
t0=$(date +%s)
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')
if [ "$commit" != '?' ] && ! git -C "$root" diff --quiet HEAD -- src/core; then
	commit="$commit (src/core modified)"
fi
{
	echo "# Canary membership-inference audit of the central mechanism"
	echo
	echo "command: \`bash eval/audit.sh $*${preset:+ (preset: ${preset[*]})}\`  "
	echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $commit, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), OPENBLAS_NUM_THREADS=1"
	echo
	OPENBLAS_NUM_THREADS=1 "$bin" "${preset[@]}" "$@"
	echo
	echo "total: $(($(date +%s) - t0)) s"
} | tee "$out.tmp"
mv "$out.tmp" "$out"
echo "written: ${out#"$root"/}"
