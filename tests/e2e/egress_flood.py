# A guest that sprays its gateway: datagrams to 2000 ports (each a new
# flow), 300 connections at once to a closed port, then the echo servers
# again: its later flows must still get through, and the node is fine.
import errno
import socket
import sys

addr = sys.argv[1]
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for port in range(20000, 22000):
    u.sendto(b"x", (addr, port))
conns = []
for _ in range(300):
    c = socket.socket()
    c.setblocking(False)
    c.connect_ex((addr, 9999))
    conns.append(c)
refused = 0
for c in conns:
    c.setblocking(True)
    c.settimeout(10)
    try:
        c.recv(1)
    except OSError as e:
        refused += e.errno == errno.ECONNREFUSED
    c.close()
print("refused", refused)
s = socket.create_connection((addr, 9000), timeout=10)
s.sendall(b"after\n")
print("tcp", s.recv(100).decode().strip())
v = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
v.settimeout(10)
v.sendto(b"after", (addr, 9000))
print("udp", v.recv(100).decode().strip())
