# A shell script of the kind functions run: pipes, subshells, command
# substitution, traps, background jobs and wait, a signal to a job.
set -u
# The shell's own notice of a killed job ("Terminated") comes when it
# happens to reap it: not part of what is compared.
exec 2>/dev/null
echo "pipe: $(seq 1 100 | grep 7 | sort -rn | head -3 | tr '\n' ' ')"
total=0
for n in $(seq 1 10); do total=$((total + n)); done
echo "loop: $total"
(cd /usr && echo "subshell cwd: $(pwd)"; exit 3)
echo "subshell status: $?"
trap 'echo "trap: USR1 caught"' USR1
kill -USR1 $$
trap 'echo "trap: EXIT"' EXIT
out=/tmp/jobs.$$
(for i in 1 2 3; do echo "job a $i"; done > "$out.a") &
a=$!
(sleep 0.2; echo "job b done" > "$out.b") &
b=$!
wait "$a" "$b"
cat "$out.a" "$out.b"
sleep 30 &
c=$!
kill -TERM "$c"
wait "$c"
echo "killed job status: $?"
{ echo one; echo two; } | while read -r w; do echo "read: $w"; done
printf '%s\n' c b a | sort | uniq -c | awk '{print "count", $1, $2}'
rm -f "$out.a" "$out.b"
exit 5
