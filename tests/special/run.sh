#!/usr/bin/env bash
# Husk-only tests: each program in DIR runs under husk and its stdout plus
# "status N" must equal tests/special/NAME.expected, or NAME.PLATFORM.expected
# where the platform (HUSK_PLATFORM) makes a difference.
# usage: run.sh HUSK DIR
set -u
husk=$1
dir=$2
here=$(cd "$(dirname "$0")" && pwd)
pass=0
fail=0
for exp in "$here"/*.expected; do
	name=$(basename "$exp" .expected)
	case $name in *.*) continue ;; esac
	[ -f "$here/$name.${HUSK_PLATFORM:-}.expected" ] && exp=$here/$name.$HUSK_PLATFORM.expected
	bin=$dir/$name
	[ -x "$bin" ] || { echo "FAIL $name (not built)"; fail=$((fail + 1)); continue; }
	# shellcheck disable=SC2086
	got=$(timeout 30 "$husk" run ${HUSK_FLAGS:-} -- "$bin" 2>/dev/null </dev/null; echo "status $?")
	if [ "$got" == "$(cat "$exp")" ]; then
		echo "PASS $name"
		pass=$((pass + 1))
	else
		echo "FAIL $name"
		diff "$exp" <(printf '%s\n' "$got") | head -n 20
		fail=$((fail + 1))
	fi
done
echo "special: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
