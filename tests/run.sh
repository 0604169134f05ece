#!/usr/bin/env bash
# Runs every test suite, each under the optimised husk and the one built with
# AddressSanitizer and UndefinedBehaviorSanitizer, and ends with the total:
# "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# The sandbox's /tmp is its own: make the test binaries visible wherever
# this checkout lives (CI may clone it under /tmp).
export HUSK_FLAGS="--bind $PWD"

pass=0
fail=0

# Runs one suite; its output must carry a "N passed, N failed" line.
suite() {
	local name=$1
	shift
	echo "=== $name"
	local out rc
	out=$("$@" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	local line p f
	line=$(printf '%s\n' "$out" | grep -E '[0-9]+ passed, [0-9]+ failed' | tail -n 1)
	if [ -z "$line" ]; then
		echo "$name: no result line (exit $rc): counted as one failure"
		fail=$((fail + 1))
		return
	fi
	p=$(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+')
	f=$(grep -oE '[0-9]+ failed' <<<"$line" | grep -oE '[0-9]+')
	pass=$((pass + p))
	fail=$((fail + f))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "$name: exit $rc with no failed test: counted as one failure"
		fail=$((fail + 1))
	fi
}

unit() {
	local out rc
	out=$(build/san/unit-tests --jobs=1 2>&1)
	rc=$?
	printf '%s\n' "$out"
	local syn
	syn=$(printf '%s\n' "$out" | grep 'Synthesis:' | tail -n 1)
	local tested failing crashing
	tested=$(sed -E 's/.*Tested: ([0-9]+).*/\1/' <<<"$syn")
	failing=$(sed -E 's/.*Failing: ([0-9]+).*/\1/' <<<"$syn")
	crashing=$(sed -E 's/.*Crashing: ([0-9]+).*/\1/' <<<"$syn")
	if [ -z "$syn" ]; then
		echo "unit: 0 passed, 1 failed"
		return 1
	fi
	local bad=$((failing + crashing))
	echo "unit: $((tested - bad)) passed, $bad failed"
	return "$rc"
}

suite "unit tests (ASan+UBSan)" unit
# The node (husk serve), with its default platform: the optimised build
# under the full load run, the sanitized one under a lighter one.
suite "node: bin/husk" /usr/bin/python3 tests/e2e/node.py bin/husk build/special/ckpt_server 10000
suite "node: build/san/husk" /usr/bin/python3 tests/e2e/node.py build/san/husk build/special/ckpt_server 2000
# Every suite on both platforms: systrap (the default) and ptrace.
for plat in systrap ptrace; do
	export HUSK_PLATFORM=$plat
	export HUSK_FLAGS="--bind $PWD --platform=$plat"
	for husk in bin/husk build/san/husk; do
		suite "guest corpus: $husk, $plat" tests/guest/difftest.sh "$husk" build/guest/*
		suite "busybox: $husk, $plat" tests/busybox.sh "$husk"
		suite "escapes: $husk, $plat" tests/special/run.sh "$husk" build/special
		suite "hostile guests: $husk, $plat" tests/hostile/run.sh "$husk" build/special
		suite "end to end: $husk, $plat" tests/e2e/run.sh "$husk"
	done
done
echo
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
