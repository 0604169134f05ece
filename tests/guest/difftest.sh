#!/usr/bin/env bash
# difftest.sh - differential test runner for the husk guest corpus.
#
# usage: difftest.sh HUSK_BIN BUILD_DIR...
#
# Every BUILD_DIR holds test executables named after the tests/guest/*.c
# sources (without extension); names without a binary are skipped.  Each
# executable runs twice, natively and as `HUSK_BIN run -- EXE`, both under
# `timeout 30`, with the working directory "/", stdin from
# tests/guest/NAME.stdin (or /dev/null) and stdout/stderr captured to
# files.  A test passes when stdout is byte-identical and the exit status
# (as the shell reports it: 128+N for death by signal N) is the same.
#
# Optional environment: GUEST_ONLY="name1 name2" runs only those tests;
# GUEST_TIMEOUT (seconds, default 30).
#
# Output: one "PASS dir/name" or "FAIL dir/name (reason)" line per test,
# details for failures, then exactly one line "guest: N passed, N failed".
# Exit status: 0 if nothing failed, 1 otherwise, 2 on usage errors.
set -u

usage() {
	echo "usage: $0 HUSK_BIN BUILD_DIR..." >&2
	exit 2
}

[ $# -ge 2 ] || usage

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd) || exit 2
husk=$1
shift
case $husk in
*/*)
	if [ ! -x "$husk" ]; then
		echo "difftest: HUSK_BIN '$husk' is not executable" >&2
		exit 2
	fi
	husk="$(cd "$(dirname "$husk")" && pwd)/$(basename "$husk")"
	;;
*)
	if ! command -v "$husk" >/dev/null 2>&1; then
		echo "difftest: HUSK_BIN '$husk' not found in PATH" >&2
		exit 2
	fi
	;;
esac

dirs=()
for d in "$@"; do
	if [ ! -d "$d" ]; then
		echo "difftest: build directory '$d' does not exist" >&2
		exit 2
	fi
	dirs+=("$(cd "$d" && pwd)")
done

limit=${GUEST_TIMEOUT:-30}
only=" ${GUEST_ONLY:-} "

# Never leave core files behind (tests that die by a signal), and keep
# the per-test files in a private scratch directory.
ulimit -c 0 2>/dev/null
tmp=$(mktemp -d "${TMPDIR:-/tmp}/guest-difftest.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

# Test names come from the sources, sorted, so the order is stable.
names=()
shopt -s nullglob
for src in "$here"/*.c; do
	n=$(basename "$src" .c)
	if [ "$only" != "  " ] && [[ $only != *" $n "* ]]; then
		continue
	fi
	names+=("$n")
done
shopt -u nullglob

# run_one OUTPREFIX STDIN CMD...: run CMD from "/" with stdio redirected;
# prints the exit status.  The subshell does not exec the command, so a
# "Segmentation fault"-style job message lands in the .err file rather
# than on our stderr, and the status is always a plain number.
run_one() {
	local pre=$1 in=$2
	shift 2
	(
		cd / || exit 125
		timeout -k 5 "$limit" "$@"
		exit $?
	) <"$in" >"$pre.out" 2>"$pre.err"
	echo $?
}

show_stderr() {
	local label=$1 file=$2
	if [ -s "$file" ]; then
		echo "    --- $label stderr (first 10 lines) ---"
		head -n 10 "$file" | cat -v | sed 's/^/    /'
	fi
}

pass=0
fail=0
total_found=0
for dir in "${dirs[@]}"; do
	tag=$(basename "$dir")
	for name in "${names[@]}"; do
		exe="$dir/$name"
		if [ ! -f "$exe" ] || [ ! -x "$exe" ]; then
			continue
		fi
		total_found=$((total_found + 1))
		in=/dev/null
		[ -f "$here/$name.stdin" ] && in="$here/$name.stdin"
		pre="$tmp/$tag.$name"

		nst=$(run_one "$pre.native" "$in" "$exe")
		# shellcheck disable=SC2086 # HUSK_FLAGS holds several words
		hst=$(run_one "$pre.husk" "$in" "$husk" run ${HUSK_FLAGS:-} -- "$exe")

		reason=""
		if [ "$nst" = 124 ]; then
			reason="native run timed out after ${limit}s"
		elif [ "$nst" = 125 ] || [ "$nst" = 126 ] || [ "$nst" = 127 ]; then
			reason="native run could not start (status $nst)"
		elif [ "$hst" = 124 ]; then
			reason="husk run timed out after ${limit}s"
		elif ! cmp -s "$pre.native.out" "$pre.husk.out"; then
			if [ "$nst" != "$hst" ]; then
				reason="stdout and exit status differ: native=$nst husk=$hst"
			else
				reason="stdout differs"
			fi
		elif [ "$nst" != "$hst" ]; then
			reason="exit status differs: native=$nst husk=$hst"
		fi

		if [ -z "$reason" ]; then
			echo "PASS $tag/$name"
			pass=$((pass + 1))
			continue
		fi
		echo "FAIL $tag/$name ($reason)"
		fail=$((fail + 1))
		echo "    exit status: native=$nst husk=$hst"
		if ! cmp -s "$pre.native.out" "$pre.husk.out"; then
			diff -a -u --label "native/$name" --label "husk/$name" \
				"$pre.native.out" "$pre.husk.out" | head -n 40 | cat -v | sed 's/^/    /'
		fi
		show_stderr native "$pre.native.err"
		show_stderr husk "$pre.husk.err"
	done
done

if [ "$total_found" -eq 0 ]; then
	echo "difftest: warning: no test executables found in: ${dirs[*]}" >&2
fi
echo "guest: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
