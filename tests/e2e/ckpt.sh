#!/usr/bin/env bash
# Checkpoint and restore, end to end: a static server (ckpt_server), one
# whose state is in a pipe, an eventfd and an epoll (ckpt_state), one
# whose state is in files of /tmp, the root overlay and /dev/shm
# (ckpt_files), python3's asyncio with AF_UNIX sockets (ckpt_asyncio.py),
# node's
# http server (threads, epoll, eventfds, pipes) and python3's
# http.server, each running with a published port and a control
# socket, checkpointed, then restored twice from the one image: each copy
# answers, and goes on from where the snapshot left it, independently of
# the other.  Then snapshots that must be refused.  Prints what it saw.
# usage: ckpt.sh HUSK REPO
set -u
husk=$1
repo=$2
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
plat=${HUSK_PLATFORM:+--platform=$HUSK_PLATFORM}
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
get() { # PORT PATH: the body, after waiting for the server to answer
	for _ in $(seq 1 100); do
		/usr/bin/python3 -c "import urllib.request as u; print(u.urlopen('http://127.0.0.1:$1$2', timeout=5).read().decode(), end='')" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "(no answer on $1)"
}
# one SERVER-ARGS...: run, serve twice, checkpoint, restore twice, serve.
one() {
	local name=$1 path=$2
	shift 2
	local p0 p1 p2
	p0=$(free_port)
	"$husk" run $plat --bind "$repo" --publish "$p0:8080" --control "$work/$name.sock" -- "$@" \
		>/dev/null 2>&1 </dev/null &
	echo "$name: first $(get "$p0" "$path" | head -c "${width:-40}")"
	echo "$name: second $(get "$p0" "$path" | head -c "${width:-40}")"
	if "$husk" checkpoint --control "$work/$name.sock" "$work/$name.snap" >"$work/$name.json"; then
		echo "$name: checkpoint ok"
	else
		echo "$name: checkpoint failed"
	fi
	wait
	sleep "${pause:-0}"
	p1=$(free_port)
	p2=$(free_port)
	"$husk" restore $plat --bind "$repo" --publish "$p1:8080" "$work/$name.snap" >/dev/null 2>&1 </dev/null &
	"$husk" restore $plat --bind "$repo" --publish "$p2:8080" "$work/$name.snap" >/dev/null 2>&1 </dev/null &
	echo "$name: restored copy 1 $(get "$p1" "$path" | head -c "${width:-40}")"
	echo "$name: restored copy 1 again $(get "$p1" "$path" | head -c "${width:-40}")"
	echo "$name: restored copy 2 $(get "$p2" "$path" | head -c "${width:-40}")"
	kill $(jobs -p) 2>/dev/null
	wait 2>/dev/null
}
one static / "$repo/build/special/ckpt_server" 8080
width=90 pause=3 one state / "$repo/build/special/ckpt_state" 8080
width=200 one files / "$repo/build/special/ckpt_files" 8080
mkdir -p "$repo/build/e2e-www"
echo "served from inside husk" >"$repo/build/e2e-www/index.txt"
one python /index.txt /usr/bin/python3 -m http.server 8080 --directory "$repo/build/e2e-www"
width=100 one asyncio / /usr/bin/python3 "$here/ckpt_asyncio.py"
one node / /usr/bin/node -e "let n = 0; require('http').createServer((q, s) => s.end('node ' + ++n)).listen(8080)"
# A restored sandbox checkpointed again (its memory partly the first
# snapshot's image), and that snapshot restored: the state goes on.
p1=$(free_port)
p2=$(free_port)
"$husk" restore $plat --bind "$repo" --publish "$p1:8080" --control "$work/chain.sock" \
	"$work/state.snap" >/dev/null 2>&1 </dev/null &
echo "chain: restored $(get "$p1" / | head -c 90)"
"$husk" checkpoint --control "$work/chain.sock" "$work/chain.snap" >/dev/null && echo "chain: checkpoint ok"
wait
"$husk" restore $plat --bind "$repo" --publish "$p2:8080" "$work/chain.snap" >/dev/null 2>&1 </dev/null &
echo "chain: restored again $(get "$p2" / | head -c 90)"
kill $(jobs -p) 2>/dev/null
wait 2>/dev/null
# A sandbox started ahead (restore --wait) becomes the snapshot husk load
# hands it (after husk load refused a file that is not there).
p3=$(free_port)
"$husk" restore $plat --bind "$repo" --publish "$p3:8080" --control "$work/wait.sock" --wait \
	>/dev/null 2>&1 </dev/null &
for _ in $(seq 1 100); do [ -S "$work/wait.sock" ] && break; sleep 0.05; done
"$husk" load --control "$work/wait.sock" "$work/text.none" >/dev/null 2>&1 || echo "prestarted: a missing file refused"
"$husk" load --control "$work/wait.sock" "$work/state.snap" >/dev/null && echo "prestarted: loaded"
echo "prestarted: $(get "$p3" / | head -c 90)"
kill $(jobs -p) 2>/dev/null
wait 2>/dev/null
# Refused: a truncated snapshot, a corrupted one, not a snapshot at all.
head -c 4000 "$work/static.snap" >"$work/cut.snap"
cp "$work/static.snap" "$work/flip.snap"
printf '\xff' | dd of="$work/flip.snap" bs=1 seek=200 conv=notrunc 2>/dev/null
echo "not a snapshot" >"$work/text.snap"
for f in cut flip text; do
	"$husk" restore $plat "$work/$f.snap" >/dev/null 2>"$work/$f.err" </dev/null
	echo "$f: status $? $(grep -c 'husk restore' "$work/$f.err") message"
done
# Refused: a snapshot restored into other mounts than it was taken with.
"$husk" restore $plat "$work/files.snap" >/dev/null 2>"$work/mounts.err" </dev/null
echo "mounts: status $? $(grep -c 'mounts' "$work/mounts.err") message"
