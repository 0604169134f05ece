#!/usr/bin/env bash
# Benchmarks for the sandbox itself, each next to the native run and to
# gVisor's runsc (ptrace platform) when it is installed.  Prints numbers;
# asserts nothing.
#   start: wall time of running a static program that exits at once
#   getppid: cost of one trivial syscall, timed inside the guest
#   clock_gettime: reading the clock through libc (the vDSO), in the guest
#   python3 -c pass: a dynamic program's start, files through the gofer
#   fork+exec+wait, vfork+exec+wait: starting a static program from inside
#   the sandbox, per iteration, timed in the guest
set -u
cd "$(dirname "$0")/.."
husk=${HUSK:-bin/husk}
runs=${RUNS:-50}
calls=${CALLS:-200000}
true_bin=build/bench/true
ppid_bin=build/bench/getppid
runsc_ok=0
if command -v runsc >/dev/null && runsc --platform=ptrace --network=none do "$true_bin" >/dev/null 2>&1; then
	runsc_ok=1
fi

# Mean wall time in milliseconds of "$@", over $runs runs.
wall_ms() {
	local start end
	start=$(date +%s%N)
	for ((i = 0; i < runs; i++)); do "$@" >/dev/null 2>&1 </dev/null; done
	end=$(date +%s%N)
	echo "scale=3; ($end - $start) / $runs / 1000000" | bc
}

printf '%-34s %12s %12s %12s\n' benchmark native husk runsc-ptrace
n=$(wall_ms "$true_bin")
h=$(wall_ms "$husk" run -- "$true_bin")
r=-
[ "$runsc_ok" = 1 ] && r=$(runs=$((runs < 10 ? runs : 10)) wall_ms runsc --platform=ptrace --network=none do "$true_bin")
printf '%-34s %12s %12s %12s\n' "start static true (ms/run)" "$n" "$h" "$r"

n=$("$ppid_bin" "$calls")
h=$("$husk" run -- "$ppid_bin" "$calls")
r=-
[ "$runsc_ok" = 1 ] && r=$(runsc --platform=ptrace --network=none do "$ppid_bin" "$((calls / 4))" 2>/dev/null)
printf '%-34s %12s %12s %12s\n' "getppid (ns/call)" "$n" "$h" "$r"

clock_bin=build/bench/clock
n=$("$clock_bin" "$((calls * 5))")
h=$("$husk" run -- "$clock_bin" "$((calls * 5))")
r=-
[ "$runsc_ok" = 1 ] && r=$(runsc --platform=ptrace --network=none do "$clock_bin" "$((calls * 5))" 2>/dev/null)
printf '%-34s %12s %12s %12s\n' "clock_gettime (ns/call)" "$n" "$h" "$r"

spawn_bin=build/bench/spawn
iters=${ITERS:-200}
for mode in fork vfork; do
	n=$("$spawn_bin" "$PWD/$true_bin" "$iters" "$mode")
	h=$("$husk" run -- "$spawn_bin" "$PWD/$true_bin" "$iters" "$mode")
	r=-
	[ "$runsc_ok" = 1 ] && r=$(runsc --platform=ptrace --network=none do "$spawn_bin" "$PWD/$true_bin" "$((iters / 4))" "$mode" 2>/dev/null)
	printf '%-34s %12s %12s %12s\n' "$mode+exec+wait (us/iteration)" "$n" "$h" "$r"
done

py=/usr/bin/python3
if [ -x "$py" ]; then
	n=$(runs=$((runs < 20 ? runs : 20)) wall_ms "$py" -c pass)
	h=$(runs=$((runs < 20 ? runs : 20)) wall_ms "$husk" run -- "$py" -c pass)
	r=-
	[ "$runsc_ok" = 1 ] && r=$(runs=5 wall_ms runsc --platform=ptrace --network=none do "$py" -c pass)
	printf '%-34s %12s %12s %12s\n' "python3 -c pass (ms/run)" "$n" "$h" "$r"
fi
