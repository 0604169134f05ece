#!/usr/bin/env bash
# Hostile guests against the sentry: random syscalls, and signals sent to
# husk from outside.  The sentry must answer, never crash or hang.
# usage: run.sh HUSK BUILD_DIR
set -u
husk=$1
dir=$2
pass=0
fail=0
ok() { echo "PASS $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }

# 1. Random syscalls: the guest must finish (status 0) with nothing from the
# sanitizers or husk's own error path on stderr.
for seed in 1 2 3 4 5 6; do
	err=$(timeout 120 "$husk" run ${HUSK_FLAGS:-} -- "$dir/fuzz_syscalls" "$seed" 3000 2>&1 >/dev/null </dev/null | tr -d '\0')
	st=${PIPESTATUS[0]}
	if [ "$st" -eq 0 ] && ! grep -qE 'AddressSanitizer|runtime error|LeakSanitizer|husk run:' <<<"$err"; then
		ok "fuzz seed $seed ($(grep -o 'fuzz: .*' <<<"$err"))"
	else
		bad "fuzz seed $seed: status $st"
		printf '%s\n' "$err" | tail -n 20
	fi
done

# 2. Signals to husk reach the guest: each kills a sleeping guest as it
# kills the program natively (128+signal).  A background job starts with
# SIGINT ignored; the guest inherits that, as a program does across exec.
bb=$(command -v busybox)
signal_case() { # SIGNAL LABEL [env args...]
	local sig=$1 label=$2
	shift 2
	env "$@" "$bb" sleep 2 &
	local npid=$!
	env "$@" "$husk" run -- "$bb" sleep 2 &
	local hpid=$!
	sleep 0.5
	kill -"$sig" "$npid" "$hpid"
	wait "$npid"
	local want=$?
	wait "$hpid"
	local got=$?
	if [ "$want" -eq "$got" ]; then
		ok "$label: status $got"
	else
		bad "$label: native $want, husk $got"
	fi
}
signal_case TERM "SIGTERM to a sleeping guest"
signal_case HUP "SIGHUP to a sleeping guest"
signal_case INT "SIGINT to a sleeping guest" --default-signal=INT
signal_case INT "SIGINT ignored since start"

# 3. A guest spinning in user space is interrupted too.
"$husk" run ${HUSK_FLAGS:-} -- "$dir/spin" &
hpid=$!
sleep 0.5
kill -TERM "$hpid"
wait "$hpid"
got=$?
if [ "$got" -eq 143 ]; then ok "SIGTERM to a spinning guest"; else bad "SIGTERM to a spinning guest: status $got"; fi

# 4. A guest that touches memory without end (and without syscalls) is
# killed at the sandbox's limit, as by the OOM killer.
out=$(timeout 60 "$husk" run ${HUSK_FLAGS:-} --memory 256M --debug -- "$dir/hog" 2>&1)
st=$?
if [ "$st" -eq 137 ] && grep -q "memory limit" <<<"$out"; then
	ok "memory hog killed at --memory 256M"
else
	bad "memory hog: status $st"
	printf '%s\n' "$out" | tail -n 3
fi

# 5. The release sentry runs confined by its own seccomp filter (the
# sanitizer build stays unconfined: its runtime needs /proc at exit).
if ! "$husk" run -- /bin/true 2>&1 | grep -q . && ! nm -C "$husk" 2>/dev/null | grep -q __asan_init; then
	"$husk" run -- "$bb" sleep 2 &
	hpid=$!
	sleep 0.7
	seccomp=$(awk '/^Seccomp:/ {print $2}' "/proc/$hpid/status" 2>/dev/null)
	wait "$hpid"
	if [ "$seccomp" = 2 ]; then ok "sentry confined by seccomp"; else bad "sentry seccomp mode: ${seccomp:-?}"; fi
fi

# 6. The task limit: forks past --tasks fail with EAGAIN (the guest's
# children count with it), and a fork bomb stays inside its sandbox: while
# it runs, another sandbox and the host still start processes, and killing
# husk takes every one of its processes with it.
out=$(timeout 60 "$husk" run ${HUSK_FLAGS:-} --tasks 32 -- "$dir/forkbomb" count 2>&1)
if [ "$out" = "made 31, then EAGAIN; reaped 31" ]; then
	ok "fork past --tasks 32: EAGAIN"
else
	bad "fork past --tasks 32: $out"
fi
out=$(timeout 60 "$husk" run ${HUSK_FLAGS:-} --tasks 32 -- "$dir/forkbomb" zombies 2>&1)
if [ "$out" = "zombies 31, then EAGAIN; reaped 31" ]; then
	ok "unreaped zombies count toward --tasks"
else
	bad "zombies past --tasks 32: $out"
fi
# 7. What a guest can make many of is capped for the whole sandbox, not
# only per process: epoll watches (ENOSPC), POSIX timers (EAGAIN), pipe
# buffers (small ones past the soft mark).
out=$(timeout 60 "$husk" run ${HUSK_FLAGS:-} -- "$dir/watches" 2>&1)
if [ "$out" = "$(printf 'watches 524288, then ENOSPC\ntimers 4096, then EAGAIN\npipe 1100 holds 8192')" ]; then
	ok "epoll watches and timers capped"
else
	bad "caps: $out"
fi
"$husk" run ${HUSK_FLAGS:-} --tasks 64 -- "$dir/forkbomb" bomb >/dev/null 2>&1 &
bomb=$!
sleep 1
other=$(timeout 30 "$husk" run ${HUSK_FLAGS:-} -- "$bb" echo still here 2>&1)
host=$(timeout 10 sh -c 'echo host forks' 2>&1)
stubs=$(pgrep -c -P "$bomb" 2>/dev/null; true)
kill -KILL "$bomb"
wait "$bomb" 2>/dev/null
sleep 0.5
left=$(pgrep -f "$dir/forkbomb bomb" | wc -l)
if [ "$other" = "still here" ] && [ "$host" = "host forks" ] && [ "$left" -eq 0 ]; then
	ok "fork bomb contained (other sandbox and host unaffected, nothing left)"
else
	bad "fork bomb: other='$other' host='$host' left=$left stubs=$stubs"
fi

# 7. Attacks on the stub page (jumps into its syscall instructions with
# the guest's registers, a crafted rt_sigreturn that blocks every signal,
# unmapping, reprotecting, overwriting it, SIGSYS handlers and masks, and
# under systrap its fast path entered every wrong way): every probe ends
# contained and the sandbox goes on.
plat=${HUSK_PLATFORM:-systrap}
out=$(timeout 300 "$husk" run ${HUSK_FLAGS:-} -- "$dir/stub_escape" 2>/dev/null </dev/null)
st=$?
want_fast=none
[ "$plat" = systrap ] && want_fast=found
if [ "$st" -eq 0 ] && grep -q '^done$' <<<"$out" && ! grep -q ESCAPED <<<"$out" &&
	grep -q "^fast path: $want_fast\$" <<<"$out" &&
	[ "$(grep -c ': contained$' <<<"$out")" -ge 8 ]; then
	ok "stub attacks contained ($plat, $(grep -c ': contained$' <<<"$out") probes)"
else
	bad "stub attacks ($plat): status $st"
	printf '%s\n' "$out" | grep -v ': contained$' | head -n 10
fi

# 8. The network stack under a flood of sockets, handshakes, datagrams and
# unread data: each ends bounded, and the stack still works after.
out=$(timeout 300 "$husk" run ${HUSK_FLAGS:-} -- "$dir/net_flood" 2>&1 </dev/null)
st=$?
if [ "$st" -eq 0 ] && grep -q '^done$' <<<"$out" && grep -q 'a bounded number queued' <<<"$out" &&
	grep -q '^stream: a bounded amount' <<<"$out" && grep -q '^after all that: working' <<<"$out" &&
	grep -q '^timeouts: bounded' <<<"$out" &&
	! grep -qE 'AddressSanitizer|runtime error' <<<"$out"; then
	ok "network flood bounded ($(grep -o '^sockets: .*' <<<"$out"))"
else
	bad "network flood: status $st"
	printf '%s\n' "$out" | tail -n 10
fi

echo "hostile: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
