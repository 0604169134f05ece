# The host's side of the egress checks: TCP echo servers on ADDR at each
# PORT (they answer a line with "tcp-echo LINE") and a UDP echo server
# at the first.  usage: egress_server.py ADDR PORT...
import socket
import sys
import threading

addr = sys.argv[1]


def tcp(port):
    l = socket.socket()
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind((addr, port))
    l.listen(16)
    while True:
        c, peer = l.accept()
        data = b""
        while not data.endswith(b"\n"):
            b = c.recv(100)
            if not b: break
            data += b
        c.sendall(b"tcp-echo " + data)
        c.close()


def udp(port):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind((addr, port))
    while True:
        d, peer = u.recvfrom(100)
        u.sendto(b"udp-echo " + d, peer)


for p in map(int, sys.argv[2:]):
    threading.Thread(target=tcp, args=(p,), daemon=True).start()
threading.Thread(target=udp, args=(int(sys.argv[2]),), daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
