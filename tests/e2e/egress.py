# The guest's side of the egress checks: each argument is tcp:ADDR:PORT
# or udp:ADDR:PORT; prints one line per target: what came back, or the
# errno's name (what Linux's sockets say: the same under husk).
import errno
import socket
import sys

for target in sys.argv[1:]:
    kind, addr, port = target.split(":")
    try:
        if kind == "tcp":
            s = socket.create_connection((addr, int(port)), timeout=10)
            s.sendall(b"ping\n")
            s.shutdown(socket.SHUT_WR)
            got = b""
            while True:
                b = s.recv(4096)
                if not b:
                    break
                got += b
            print(target, "got", got.decode().strip())
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(10)
            s.connect((addr, int(port)))
            s.send(b"ping")
            print(target, "got", s.recv(4096).decode().strip())
        s.close()
    except socket.timeout:
        print(target, "timeout")
    except OSError as e:
        print(target, errno.errorcode.get(e.errno, e.errno))
