#!/usr/bin/env bash
# busybox (static) applets under husk give the host's output and status.
# usage: busybox.sh HUSK
set -u
husk=$1
bb=$(command -v busybox)
pass=0
fail=0
check() {
	local want got ws gs
	want=$("$bb" "$@" 2>/dev/null </dev/null)
	ws=$?
	got=$(timeout 30 "$husk" run ${HUSK_FLAGS:-} -- "$bb" "$@" 2>/dev/null </dev/null)
	gs=$?
	if [ "$want" == "$got" ] && [ "$ws" -eq "$gs" ]; then
		echo "PASS busybox $*"
		pass=$((pass + 1))
	else
		echo "FAIL busybox $* (status host $ws husk $gs)"
		diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") | head -n 10
		fail=$((fail + 1))
	fi
}
check echo hello world
check echo -n no newline
check echo -e 'tab\there'
check true
check false
check expr 3 '*' 7
check expr 10 / 0
check expr length abcdef
check expr 5 '>' 9
check seq 1 5
check seq 10 -3 1
check seq -s , 1 20
check printf '%s=%d\n' a 1 b 2
check basename /usr/lib/x.so .so
check dirname /usr/lib/x.so
check yes-not-an-applet
echo "busybox: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
