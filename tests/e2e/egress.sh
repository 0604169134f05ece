#!/usr/bin/env bash
# Egress under each policy, run in a network namespace of its own (unshare
# -n): the host has 192.0.2.1 (on its loopback) with echo servers on 9000
# (TCP and UDP) and on 18090, a port the sandbox's node publishes; each
# policy's guest tries them, a closed port, link-local, an address with no
# route, and its own loopback; then a guest sprays new flows and
# connections and must still get through.  Prints what each got.
# usage: egress.sh HUSK REPO
set -u
husk=$1
repo=$2
here=$(cd "$(dirname "$0")" && pwd)
ip link set lo up
ip addr add 192.0.2.1/32 dev lo
/usr/bin/python3 "$here/egress_server.py" 192.0.2.1 9000 18090 >/dev/null &
srv=$!
for _ in $(seq 1 50); do
	/usr/bin/python3 -c 'import socket; socket.create_connection(("192.0.2.1", 18090))' 2>/dev/null && break
	sleep 0.1
done
for pol in all none 192.0.2.0/24 198.51.100.0/24; do
	echo "== $pol"
	timeout 60 "$husk" run ${HUSK_PLATFORM:+--platform=$HUSK_PLATFORM} --bind "$repo" \
		--egress="$pol" --publish 18090:80 -- /usr/bin/python3 "$here/egress.py" \
		tcp:192.0.2.1:9000 udp:192.0.2.1:9000 tcp:192.0.2.1:9999 udp:192.0.2.1:9999 \
		tcp:192.0.2.1:18090 tcp:169.254.169.254:80 tcp:203.0.113.9:80 tcp:127.0.0.1:9000 2>&1
done
echo "== flood"
timeout 120 "$husk" run ${HUSK_PLATFORM:+--platform=$HUSK_PLATFORM} --bind "$repo" --egress=all \
	-- /usr/bin/python3 "$here/egress_flood.py" 192.0.2.1 2>&1
kill "$srv"
