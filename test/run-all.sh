#!/usr/bin/env bash
# run-all.sh: every test of lipvae, from a clean tree.
#   1. installs the Debian packages it needs (scripts/deps.sh)
#   2. builds with -Werror and installs the extension
#   3. runs the unit tests of the numerical core (cmocka, no server) and of
#      the evaluation code (Python: DP baselines and metrics)
#   4. starts a throw-away PostgreSQL cluster, runs the regression and
#      isolation suites (make installcheck), pg_dump/pg_restore of models
#      (test/dump_restore.sh) and many concurrent samplers with a replacer
#      (test/concurrency.sh) against it, and stops it
#   5. hardening, each stage under a time cap: the core's unit tests under
#      ASan+UBSan and under valgrind, regression tests against a server
#      under valgrind (test/valgrind-regress.sh), libFuzzer on the model decoder
#      (LIPVAE_FUZZ_SECONDS, default 60)
# Every stage prints its time. Exits non-zero on any failure. PGXS's `make check` tests nothing; this
# script never relies on it.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

t_last=$(date +%s)
t_name=""
times=""
# stage starts a stage and records how long the previous one took
stage() {
	local now
	now=$(date +%s)
	[ -n "$t_name" ] && times="$times$(printf '%-58s %5d s' "$t_name" $((now - t_last)))\n"
	t_last=$now
	t_name=$1
	printf '\n=== %s (%s)\n' "$1" "$(date +%T)"
}

stage "dependencies"
bash scripts/deps.sh

stage "format"
if command -v clang-format >/dev/null; then
	make -s format-check
else
	echo "clang-format not installed: format not checked"
fi

stage "build (warnings are errors)"
make -s clean >/dev/null
make -s LIPVAE_CFLAGS=-Werror
$SUDO make -s install >/dev/null

stage "unit tests of the core"
make -s -C test clean >/dev/null
unit_log=$(mktemp)
if make -s -C test run CFLAGS="-O2 -g -std=gnu99 -Wall -Wextra -Werror -Wno-unused-parameter" 2>&1 | tee "$unit_log"; then
	unit_ok=1
else
	unit_ok=0
fi
unit_passed=$( (grep -Eo '\[  PASSED  \] [0-9]+' "$unit_log" || true) | awk '{s+=$NF} END {print s+0}')
unit_failed=$( (grep -Eo '\[  FAILED  \] [0-9]+' "$unit_log" || true) | awk '{s+=$NF} END {print s+0}')

stage "evaluation code: unit tests of the baselines and metrics"
EVAL_PKGS="python3-numpy python3-scipy python3-sklearn python3-matplotlib python3-psycopg2"
missing=""
for p in $EVAL_PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq $missing >/dev/null
fi
eval_log=$(mktemp)
if /usr/bin/python3 -m unittest eval.test_baselines eval.test_metrics >"$eval_log" 2>&1; then
	eval_ok=1
else
	eval_ok=0
fi
tail -n 4 "$eval_log"
eval_ran=$( (grep -Eo '^Ran [0-9]+' "$eval_log" || true) | awk '{print $2+0}')
eval_ran=${eval_ran:-0}
eval_failed=$( (grep -Eo 'failures=[0-9]+|errors=[0-9]+' "$eval_log" || true) | awk -F= '{s+=$2} END {print s+0}')

stage "regression suite on a throw-away cluster"
pgdir=$(mktemp -d /tmp/lipvae-test.XXXXXX)
chmod 755 "$pgdir"
export LIPVAE_TEST_PORT=${LIPVAE_TEST_PORT:-55432}
cleanup() { bash scripts/pgcluster.sh stop "$pgdir"; rm -rf "$pgdir"; }
trap cleanup EXIT
eval "$(bash scripts/pgcluster.sh start "$pgdir")"
reg_ok=1
make -s installcheck || reg_ok=0
reg_total=$(ls sql/*.sql specs/*.spec 2>/dev/null | wc -l)
reg_failed=0
if [ "$reg_ok" = 0 ]; then
	[ -f regression.diffs ] && cat regression.diffs
	[ -f output_iso/regression.diffs ] && cat output_iso/regression.diffs
	reg_failed=$(cat regression.out output_iso/regression.out 2>/dev/null | grep -c 'FAILED' || true)
	[ -n "$reg_failed" ] && [ "$reg_failed" -gt 0 ] || reg_failed=1
	tail -n 40 "$pgdir/server.log" || true
fi

# cap runs a hardening command under a time limit; a timeout is a failure
cap() {
	local secs=$1
	shift
	timeout --kill-after=10 "$secs" "$@"
}
hard_total=0
hard_failed=0
# hard runs one hardening check and counts it
hard() {
	hard_total=$((hard_total + 1))
	if ! "$@"; then
		hard_failed=$((hard_failed + 1))
		echo "FAILED: $*"
	fi
}

# no_crash fails when the test server's log shows a backend that died
no_crash() {
	if grep -E "was terminated by signal|terminating any other active server processes" "$pgdir/server.log"; then
		echo "the server log shows a crashed backend"
		return 1
	fi
	echo "server log: no backend crashed"
}

stage "server log of the regression suite: no crash"
hard no_crash

stage "pg_dump / pg_restore of models"
hard cap 300 bash test/dump_restore.sh

stage "concurrency: 8 samplers and a replacer (pgbench)"
hard cap 300 bash test/concurrency.sh

stage "server log after dump/restore and concurrency: no crash"
hard no_crash

stage "unit tests of the core under ASan and UBSan"
hard cap 900 make -s -C test sanitize

stage "unit tests of the core under valgrind"
hard cap 1500 make -s -C test valgrind

stage "regression tests against a server under valgrind"
hard cap 1200 bash test/valgrind-regress.sh setup hostile security multiplicity holes count_fn

stage "fuzzing the model decoder (libFuzzer, ASan, UBSan)"
hard cap 600 make -s -C fuzz run SECONDS="${LIPVAE_FUZZ_SECONDS:-60}"

stage "fuzz corpus and found inputs under valgrind"
hard cap 600 make -s -C fuzz valgrind

stage "summary"
printf '\nstage times:\n%b' "$times"
passed=$((unit_passed + reg_total - reg_failed + eval_ran - eval_failed + hard_total - hard_failed))
failed=$((unit_failed + reg_failed + eval_failed + hard_failed))
[ "$unit_ok" = 1 ] || [ "$unit_failed" -gt 0 ] || failed=$((failed + 1))
[ "$eval_ok" = 1 ] || [ "$eval_failed" -gt 0 ] || failed=$((failed + 1))
echo "unit tests: $unit_passed passed, $unit_failed failed; evaluation tests: $((eval_ran - eval_failed)) passed, $eval_failed failed; regression and isolation files: $((reg_total - reg_failed)) passed, $reg_failed failed; hardening checks: $((hard_total - hard_failed)) passed, $hard_failed failed"
echo "$passed passed, $failed failed"
[ "$unit_ok" = 1 ] && [ "$eval_ok" = 1 ] && [ "$reg_ok" = 1 ] && [ "$hard_failed" = 0 ]
