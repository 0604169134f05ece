#!/usr/bin/env bash
# End-to-end filesystem checks on real programs: host tools print what they
# print on the host; python3 works with the standard library; writes to the
# root stay in the sandbox; nothing leaves a custom root.
# usage: run.sh HUSK
set -u
husk=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
pass=0
fail=0
ok() { echo "PASS $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
same() { # LABEL CMD...: stdout and status of CMD natively and under husk
	local label=$1
	shift
	local want got ws gs
	want=$(cd / && "$@" 2>&1 </dev/null)
	ws=$?
	got=$(cd / && timeout 60 "$husk" run ${HUSK_PLATFORM:+--platform=$HUSK_PLATFORM} --bind "$repo" -- "$@" 2>&1 </dev/null)
	gs=$?
	if [ "$want" == "$got" ] && [ "$ws" -eq "$gs" ]; then
		ok "$label"
	else
		bad "$label (status host $ws husk $gs)"
		diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") | head -n 8
	fi
}

same "ls -la /usr/bin" /bin/ls -la /usr/bin
same "cat /etc/os-release" /bin/cat /etc/os-release
same "head /etc/passwd" /usr/bin/head -5 /etc/passwd
same "wc /etc/services" /usr/bin/wc /etc/services
same "find python3 sources" /usr/bin/find /usr/lib/python3.11 -name '*.py'
same "python3 files and stdlib" /usr/bin/python3 "$here/fs_python.py"
same "a #! script run directly" "$here/shebang.py" one two

# Processes and threads in real programs.
bb=$(command -v busybox)
same "busybox sh pipeline" "$bb" sh -c 'for i in $(seq 1 50); do echo $i | cat; done | sort -n | tail -1'
same "shell script: pipes, subshells, traps, jobs" "$bb" sh "$here/jobs.sh"
same "python3 threads, subprocess, multiprocessing, alarm" /usr/bin/python3 "$here/py_procs.py"
if [ -x /usr/bin/node ]; then
	same "node timers, fs, crypto, child_process, workers" /usr/bin/node "$here/node_procs.js"
else
	bad "node is not installed (make deps installs nodejs)"
fi

# Without a memory limit there is no memory ticker, yet a guest that only
# computes still gets its ITIMER_PROF: the ticker starts for CPU timers.
itimer="$repo/build/guest/glibc-static/itimer"
if [ -x "$itimer" ]; then
	want=$(cd / && "$itimer" 2>/dev/null </dev/null)
	ws=$?
	got=$(cd / && timeout 60 "$husk" run ${HUSK_PLATFORM:+--platform=$HUSK_PLATFORM} --memory 0 --bind "$repo" -- "$itimer" 2>/dev/null </dev/null)
	gs=$?
	if [ "$want" == "$got" ] && [ "$ws" -eq "$gs" ]; then
		ok "CPU interval timers with --memory 0"
	else
		bad "CPU interval timers with --memory 0 (status host $ws husk $gs)"
	fi
fi

# The vDSO: 40000 clock reads through libc, not one of them a syscall.
out=$(timeout 60 "$husk" run ${HUSK_PLATFORM:+--platform=$HUSK_PLATFORM} --strace --bind "$repo" -- "$repo/build/special/clock_loop" 2>&1 </dev/null)
st=$?
traps=$(grep -cE '\] (clock_gettime|gettimeofday|time)\(' <<<"$out")
if [ "$st" -eq 0 ] && grep -q '^read$' <<<"$out" && [ "$traps" -eq 0 ]; then
	ok "clock reads through the vDSO, no syscalls"
else
	bad "clock reads through the vDSO (status $st, $traps syscalls)"
fi

# The overlaid root: writes under husk only, then the host is unchanged.
before=$(sha256sum /etc/passwd; ls /usr/bin | wc -l)
out=$(timeout 60 "$husk" run ${HUSK_PLATFORM:+--platform=$HUSK_PLATFORM} --bind "$repo" -- /usr/bin/python3 "$here/fs_overlay.py" 2>&1)
st=$?
after=$(sha256sum /etc/passwd; ls /usr/bin | wc -l)
expected="passwd lines before: True
appended: True
['g', 'sub'] in memory
hostname removed: True
new file in /usr/bin: True"
if [ "$st" -eq 0 ] && [ "$out" == "$expected" ]; then
	ok "writes to the overlaid root"
else
	bad "writes to the overlaid root (status $st)"
	printf '%s\n' "$out" | head -n 10
fi
if [ "$before" == "$after" ] && [ ! -e /etc/husk-e2e ] && [ ! -e /usr/bin/husk-e2e-tool ]; then
	ok "host files unchanged"
else
	bad "host files changed"
fi

# A custom root: a small directory; a marker outside it must stay unreachable.
root=$(mktemp -d /tmp/husk-e2e-root.XXXXXX)
marker=$(mktemp /tmp/husk-e2e-marker.XXXXXX)
echo HOST-SECRET >"$marker"
cp "$repo/build/special/escape_fs" "$root/escape"
mkdir -p "$root/sub/deeper"
ln -s "$marker" "$root/abs"
ln -s "../../../../../../../../..$marker" "$root/rel"
ln -s / "$root/rootlink"
ln -s sub/deeper "$root/dirlink"
cat >"$root.json" <<JSON
{"mounts": [{"path": "/", "type": "bind", "source": "$root", "readonly": true}]}
JSON
out=$(timeout 60 "$husk" run ${HUSK_PLATFORM:+--platform=$HUSK_PLATFORM} --root "$root.json" -- /escape "$marker" /abs /rel \
	"/rootlink$marker" "/dirlink/../../..$marker" "/proc/self/root$marker" \
	"/proc/self/cwd/../..$marker" "/sub/../../..$marker" 2>&1)
st=$?
if [ "$st" -eq 0 ] && ! grep -q ESCAPED <<<"$out" && [ "$(grep -c contained <<<"$out")" -eq 8 ] &&
	grep -q 'cwd after 50 chdir(..): /$' <<<"$out"; then
	ok "no way out of a custom root"
else
	bad "custom root (status $st)"
	printf '%s\n' "$out" | head -n 12
fi
rm -rf "$root" "$root.json" "$marker"

# The network: python's http.server in the sandbox, its port published on
# the host's loopback; a file fetched, then keep-alive load, sequential
# and concurrent, with no error.
www="$repo/build/e2e-www"
mkdir -p "$www"
echo "served from inside husk" >"$www/index.txt"
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$husk" run ${HUSK_PLATFORM:+--platform=$HUSK_PLATFORM} --bind "$repo" --publish "$port:8080" -- \
	/usr/bin/python3 -m http.server 8080 -p HTTP/1.1 --directory "$www" >/dev/null 2>&1 </dev/null &
srv=$!
got=""
for _ in $(seq 1 100); do
	got=$(/usr/bin/python3 -c "import urllib.request as u; print(u.urlopen('http://127.0.0.1:$port/index.txt', timeout=5).read().decode(), end='')" 2>/dev/null) && break
	sleep 0.1
done
if [ "$got" = "served from inside husk" ]; then
	ok "--publish: a file from http.server inside"
else
	bad "--publish: got '$got'"
fi
# The gateway (husk run's child in the host's pid namespace that is not
# the gofer; the stubs live in one of their own) runs confined: seccomp
# filter mode and no_new_privs (the sanitizer build leaves it be).
if [[ "$husk" != */san/* ]]; then
	confined=0
	for c in $(cat /proc/"$srv"/task/*/children 2>/dev/null); do
		st=/proc/"$c"/status
		if [ "$(awk '/^NSpid:/ {print NF}' "$st" 2>/dev/null)" = 2 ] &&
			! tr '\0' ' ' </proc/"$c"/cmdline 2>/dev/null | grep -q ' gofer ' &&
			grep -q '^Seccomp:[[:space:]]*2' "$st" && grep -q '^NoNewPrivs:[[:space:]]*1' "$st"; then
			confined=$((confined + 1))
		fi
	done
	[ "$confined" -ge 1 ] && ok "--publish: the gateway runs under seccomp" || bad "--publish: no confined gateway among husk run's children"
fi
load=$(timeout 300 /usr/bin/python3 "$here/http_load.py" "$port" 1000 20 25 "$www/index.txt" 2>&1)
if grep -q '^sequential 1000: 0 errors, .* concurrent 20x25: 0 errors' <<<"$load"; then
	ok "--publish: keep-alive load, no error ($load)"
else
	bad "--publish: load: $load"
fi
kill "$srv" 2>/dev/null
wait "$srv" 2>/dev/null

# The interfaces programs see, through netlink (getifaddrs, if_nameindex):
# the sandbox's, lo alone without a link, lo and eth0 with one.
want='[(1, '"'"'lo'"'"')]'
got=$("$husk" run ${HUSK_PLATFORM:+--platform=$HUSK_PLATFORM} -- /usr/bin/python3 -c 'import socket; print(socket.if_nameindex())' 2>&1)
[ "$got" = "$want" ] && ok "netlink: python's if_nameindex ($got)" || bad "netlink: if_nameindex: $got"
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
got=$("$husk" run ${HUSK_PLATFORM:+--platform=$HUSK_PLATFORM} --publish "$port:80" -- /usr/bin/node -e \
	'const i = require("os").networkInterfaces(); console.log(Object.keys(i).map(k => k + " " + i[k][0].cidr).join(", "))' 2>&1)
want="lo 127.0.0.1/8, eth0 10.0.2.15/24"
[ "$got" = "$want" ] && ok "netlink: node's os.networkInterfaces ($got)" || bad "netlink: networkInterfaces: $got"
# /proc/net: a listener and a connection as Linux lists them.
got=$("$husk" run ${HUSK_PLATFORM:+--platform=$HUSK_PLATFORM} -- /usr/bin/python3 -c '
import socket
l = socket.socket(); l.bind(("127.0.0.1", 8080)); l.listen()
c = socket.socket(); c.connect(("127.0.0.1", 8080)); a, _ = l.accept()
rows = [r.split() for r in open("/proc/net/tcp").read().splitlines()[1:]]
print(sorted((r[1], r[3]) for r in rows if r[1].endswith(":1F90")))
print("lo" in open("/proc/net/dev").read())' 2>&1)
want="[('0100007F:1F90', '01'), ('0100007F:1F90', '0A')]
True"
[ "$got" = "$want" ] && ok "/proc/net/tcp and dev list the sandbox's sockets" || bad "/proc/net: $got"

# Egress: what each policy lets a guest reach, in a network namespace of
# the test's own (egress.sh): echo servers answer where allowed, a closed
# port refuses, the node's own port, link-local and whatever the policy
# leaves out are administratively prohibited (EHOSTUNREACH), an address
# with no route is unreachable, and 127.0.0.1 stays the sandbox's own;
# a guest flooding its gateway with flows still gets its later ones out.
blocked="tcp:192.0.2.1:18090 EHOSTUNREACH
tcp:169.254.169.254:80 EHOSTUNREACH"
denied="tcp:192.0.2.1:9000 EHOSTUNREACH
udp:192.0.2.1:9000 EHOSTUNREACH
tcp:192.0.2.1:9999 EHOSTUNREACH
udp:192.0.2.1:9999 EHOSTUNREACH
$blocked
tcp:203.0.113.9:80 EHOSTUNREACH
tcp:127.0.0.1:9000 ECONNREFUSED"
allowed="tcp:192.0.2.1:9000 got tcp-echo ping
udp:192.0.2.1:9000 got udp-echo ping
tcp:192.0.2.1:9999 ECONNREFUSED
udp:192.0.2.1:9999 ECONNREFUSED
$blocked"
want="== all
$allowed
tcp:203.0.113.9:80 ENETUNREACH
tcp:127.0.0.1:9000 ECONNREFUSED
== none
$denied
== 192.0.2.0/24
$allowed
tcp:203.0.113.9:80 EHOSTUNREACH
tcp:127.0.0.1:9000 ECONNREFUSED
== 198.51.100.0/24
$denied
== flood
refused 300
tcp tcp-echo after
udp udp-echo after"
if unshare -n true 2>/dev/null; then
	got=$(timeout 300 unshare -n bash "$here/egress.sh" "$husk" "$repo" 2>&1)
	if [ "$got" = "$want" ]; then
		ok "--egress: all, none and CIDR policies, each as Linux reports it"
	else
		bad "--egress"
		diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") | head -n 20
	fi
else
	echo "SKIP --egress: no network namespaces here"
fi

# Checkpoint and restore (ckpt.sh): static servers (one keeping state in a
# pipe, an eventfd and an epoll, one in files of /tmp, the root overlay and
# /dev/shm), node and python3 servers (one on asyncio, keeping state in
# AF_UNIX sockets) checkpointed while serving, each
# restored twice from one image: both copies answer, from where the
# snapshot left off and independently; truncated, corrupted and foreign
# files, and other mounts, are refused.
want="static: first request 1
static: second request 2
static: checkpoint ok
static: restored copy 1 request 3
static: restored copy 1 again request 4
static: restored copy 2 request 3
state: first request 1 pipe kept eventfd 5 timer 2 clock on signalfd 1 zombie 7 nested 1
state: second request 2 pipe kept eventfd 6 timer 2 clock on signalfd 1 zombie 7 nested 1
state: checkpoint ok
state: restored copy 1 request 3 pipe kept eventfd 7 timer 2 clock on signalfd 1 zombie 7 nested 1
state: restored copy 1 again request 4 pipe kept eventfd 8 timer 2 clock on signalfd 1 zombie 7 nested 1
state: restored copy 2 request 3 pipe kept eventfd 7 timer 2 clock on signalfd 1 zombie 7 nested 1
files: first read line counter 1/1 link alpha links 1 conf conf kept hostname replaced issue.net gone big 1 entries 5 mode 750 times kept
files: second read line counter 2/2 link alpha links 1 conf conf kept hostname replaced issue.net gone big 1 entries 5 mode 750 times kept
files: checkpoint ok
files: restored copy 1 read line counter 3/3 link alpha links 1 conf conf kept hostname replaced issue.net gone big 1 entries 5 mode 750 times kept
files: restored copy 1 again read line counter 4/4 link alpha links 1 conf conf kept hostname replaced issue.net gone big 1 entries 5 mode 750 times kept
files: restored copy 2 read line counter 3/3 link alpha links 1 conf conf kept hostname replaced issue.net gone big 1 entries 5 mode 750 times kept
python: first served from inside husk
python: second served from inside husk
python: checkpoint ok
python: restored copy 1 served from inside husk
python: restored copy 1 again served from inside husk
python: restored copy 2 served from inside husk
asyncio: first asyncio 1 pair kept stream ping listener new abstract dgram
asyncio: second asyncio 2 pair kept stream ping listener new abstract dgram
asyncio: checkpoint ok
asyncio: restored copy 1 asyncio 3 pair kept stream ping listener new abstract dgram
asyncio: restored copy 1 again asyncio 4 pair kept stream ping listener new abstract dgram
asyncio: restored copy 2 asyncio 3 pair kept stream ping listener new abstract dgram
node: first node 1
node: second node 2
node: checkpoint ok
node: restored copy 1 node 3
node: restored copy 1 again node 4
node: restored copy 2 node 3
chain: restored request 3 pipe kept eventfd 7 timer 2 clock on signalfd 1 zombie 7 nested 1
chain: checkpoint ok
chain: restored again request 4 pipe kept eventfd 8 timer 2 clock on signalfd 1 zombie 7 nested 1
prestarted: a missing file refused
prestarted: loaded
prestarted: request 3 pipe kept eventfd 7 timer 2 clock on signalfd 1 zombie 7 nested 1
cut: status 125 1 message
flip: status 125 1 message
text: status 125 1 message
mounts: status 125 1 message"
got=$(timeout 300 bash "$here/ckpt.sh" "$husk" "$repo" 2>&1)
if [ "$got" = "$want" ]; then
	ok "checkpoint and restore: six servers, each restored twice; a restore checkpointed again; bad snapshots refused"
else
	bad "checkpoint and restore"
	diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") | head -n 20
fi

echo "e2e: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
