"""HTTP load against 127.0.0.1:PORT: SEQ sequential keep-alive requests,
then CONC connections making PER requests each at once; every response
must be 200 with the file's bytes.  Prints the error counts and rates.
usage: http_load.py PORT SEQ CONC PER FILE"""
import http.client, sys, threading, time
port = int(sys.argv[1]); seq = int(sys.argv[2]); conc = int(sys.argv[3]); per = int(sys.argv[4])
want = open(sys.argv[5], 'rb').read()
errors = 0
t0 = time.time()
c = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
for i in range(seq):
    try:
        c.request('GET', '/index.txt'); r = c.getresponse(); body = r.read()
        if r.status != 200 or body != want: errors += 1
        if r.will_close: c.close(); c = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
    except Exception as e:
        errors += 1; c.close(); c = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
t1 = time.time()
lock = threading.Lock(); cerr = [0]
def worker():
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=20)
    e = 0
    for i in range(per):
        try:
            c.request('GET', '/index.txt'); r = c.getresponse(); body = r.read()
            if r.status != 200 or body != want: e += 1
            if r.will_close: c.close(); c = http.client.HTTPConnection('127.0.0.1', port, timeout=20)
        except Exception as ex:
            e += 1; c.close(); c = http.client.HTTPConnection('127.0.0.1', port, timeout=20)
    with lock: cerr[0] += e
ts = [threading.Thread(target=worker) for _ in range(conc)]
[t.start() for t in ts]; [t.join() for t in ts]
t2 = time.time()
print(f"sequential {seq}: {errors} errors, {seq/(t1-t0):.0f} req/s; concurrent {conc}x{per}: {cerr[0]} errors, {conc*per/(t2-t1):.0f} req/s")
