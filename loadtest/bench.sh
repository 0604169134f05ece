#!/usr/bin/env bash
# Benchmarks for the sandbox itself: each next to the native run, husk on
# both its platforms (systrap, the default, and ptrace), and gVisor's runsc
# with its ptrace platform when it is installed (Debian package runsc; the
# column says "-" otherwise).  Prints numbers; asserts nothing.
#   start: wall time of running a static program that exits at once
#   getppid, pipe write+read, clock_gettime, open+close: per call, timed
#     inside the guest (loadtest/guest/syscalls.c), all from one run each
#   python3 -c pass: a dynamic program's start, files through the gofer
#   fork+exec+wait, vfork+exec+wait: starting a static program from inside
#   the sandbox, per iteration, timed in the guest
#   HTTP keep-alive requests/s with p50/p99 latency, and bulk MB/s, of a
#   small server natively and inside husk behind --publish
# Wall times are medians over RUNS rounds, each of which runs every column
# once in turn: all of them then see the machine in the same state (in a
# VM, idle CPUs wake slowly, and a command run after a pause, or after
# another's teardown, pays for it).
set -u
cd "$(dirname "$0")/.."
husk=${HUSK:-bin/husk}
runs=${RUNS:-50}
calls=${CALLS:-200000}
true_bin=build/bench/true
runsc_ok=0
if command -v runsc >/dev/null && runsc --platform=ptrace --network=none do "$true_bin" >/dev/null 2>&1; then
	runsc_ok=1
fi

# Median wall times in milliseconds of the commands given (strings, one per
# column; "" for a column not measured), run in turn in each of $runs
# rounds; the last column only in the first $small rounds (runsc is slow).
side_by_side() {
	local -a t=()
	local i j start end
	for ((i = 0; i < runs; i++)); do
		for ((j = 1; j <= $#; j++)); do
			local cmd=${!j}
			[ -n "$cmd" ] || continue
			[ "$j" -eq $# ] && [ "$i" -ge "$small" ] && continue
			start=$(date +%s%N)
			eval "$cmd" >/dev/null 2>&1 </dev/null
			end=$(date +%s%N)
			t+=("$j $((end - start))")
		done
	done
	for ((j = 1; j <= $#; j++)); do
		printf '%s\n' "${t[@]}" | awk -v j="$j" '$1 == j {print $2}' | sort -n |
			awk '{a[NR] = $1} END {
				if (!NR) { print "-"; exit }
				m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
				printf "%.3f\n", m / 1000000 }'
	done
}

runsc_do() {
	runsc --platform=ptrace --network=none do "$@"
}

row() {
	printf '%-34s %12s %12s %12s %12s\n' "$@"
}

row benchmark native husk-systrap husk-ptrace runsc-ptrace
small=$((runs < 10 ? runs : 10))
rcmd=""
[ "$runsc_ok" = 1 ] && rcmd="runsc_do $true_bin"
mapfile -t m < <(side_by_side "$true_bin" "$husk run --platform=systrap -- $true_bin" \
	"$husk run --platform=ptrace -- $true_bin" "$rcmd")
row "start static true (ms/run)" "${m[@]}"

# The four syscalls, one run per column; runsc and ptrace get fewer calls.
sys_bin=build/bench/syscalls
declare -A cost
while read -r name ns; do cost[native,$name]=$ns; done < <("$sys_bin" "$calls")
while read -r name ns; do cost[systrap,$name]=$ns; done < <("$husk" run --platform=systrap -- "$sys_bin" "$calls")
while read -r name ns; do cost[ptrace,$name]=$ns; done < <("$husk" run --platform=ptrace -- "$sys_bin" "$((calls / 4))")
if [ "$runsc_ok" = 1 ]; then
	while read -r name ns; do cost[runsc,$name]=$ns; done < <(runsc_do "$sys_bin" "$((calls / 10))" 2>/dev/null)
fi
for name in getppid pipe clock open+close; do
	case $name in
	getppid) label="getppid (ns/call)" ;;
	pipe) label="pipe 1-byte write+read (ns/pair)" ;;
	clock) label="clock_gettime (ns/call)" ;;
	open+close) label="open+close (ns/pair)" ;;
	esac
	row "$label" "${cost[native,$name]:--}" "${cost[systrap,$name]:--}" \
		"${cost[ptrace,$name]:--}" "${cost[runsc,$name]:--}"
done

spawn_bin=build/bench/spawn
iters=${ITERS:-200}
for mode in fork vfork; do
	n=$("$spawn_bin" "$PWD/$true_bin" "$iters" "$mode")
	s=$("$husk" run --platform=systrap -- "$spawn_bin" "$PWD/$true_bin" "$iters" "$mode")
	p=$("$husk" run --platform=ptrace -- "$spawn_bin" "$PWD/$true_bin" "$iters" "$mode")
	r=-
	[ "$runsc_ok" = 1 ] && r=$(runsc_do "$spawn_bin" "$PWD/$true_bin" "$((iters / 4))" "$mode" 2>/dev/null)
	row "$mode+exec+wait (us/iteration)" "$n" "$s" "$p" "$r"
done

py=/usr/bin/python3
if [ -x "$py" ]; then
	rcmd=""
	[ "$runsc_ok" = 1 ] && rcmd="runsc_do $py -c pass"
	mapfile -t m < <(small=$((runs < 5 ? runs : 5)) side_by_side "$py -c pass" \
		"$husk run --platform=systrap -- $py -c pass" \
		"$husk run --platform=ptrace -- $py -c pass" "$rcmd")
	row "python3 -c pass (ms/run)" "${m[@]}"
fi
# The network: loadtest/guest/httpd (epoll, keep-alive) natively on a
# host port, and inside husk behind --publish (host client -> gateway ->
# the sandbox's link -> the guest's netstack); build/bench/httpload drives
# it from the host.  runsc's column stays empty: `runsc do` has no port
# publishing to compare with.
httpd=build/bench/httpd
load=build/bench/httpload
conns=${CONNS:-10}
secs=${SECS:-2}
free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_port() {
	for _ in $(seq 1 100); do
		"$load" "$1" bulk 0 >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	return 1
}
declare -A net
for col in native systrap ptrace; do
	port=$(free_port)
	if [ "$col" = native ]; then
		"$httpd" "$port" &
	else
		"$husk" run --platform="$col" --publish "$port:8080" -- "$httpd" 8080 &
	fi
	pid=$!
	if wait_port "$port"; then
		read -r r p50 p99 err < <("$load" "$port" rps "$conns" "$secs")
		net[$col,rps]=$r net[$col,p50]=$p50 net[$col,p99]=$p99
		net[$col,bulk]=$("$load" "$port" bulk 512)
	fi
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
done
row "HTTP keep-alive, $conns conns (req/s)" "${net[native,rps]:--}" "${net[systrap,rps]:--}" "${net[ptrace,rps]:--}" -
row "  p50 latency (us)" "${net[native,p50]:--}" "${net[systrap,p50]:--}" "${net[ptrace,p50]:--}" -
row "  p99 latency (us)" "${net[native,p99]:--}" "${net[systrap,p99]:--}" "${net[ptrace,p99]:--}" -
row "bulk 512 MiB through ingress (MB/s)" "${net[native,bulk]:--}" "${net[systrap,bulk]:--}" "${net[ptrace,bulk]:--}" -

[ "$runsc_ok" = 1 ] || echo "runsc-ptrace: runsc is not installed (apt-get install runsc) or does not run here"
