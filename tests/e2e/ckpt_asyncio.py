"""An asyncio server (its loop wakes itself through a socketpair) keeping
state in AF_UNIX sockets a checkpoint must carry: a socketpair with bytes
waiting, a listener named in /tmp with an accepted connection holding
bytes, and a datagram socket with an abstract name.  Each answer moves the
bytes round (each read, then written back), connects to the listener
anew, and sends a datagram to the abstract name."""
import asyncio
import socket

pair_a, pair_b = socket.socketpair()
pair_a.send(b"kept")
listener = socket.socket(socket.AF_UNIX)
listener.bind("/tmp/app.sock")
listener.listen()
client = socket.socket(socket.AF_UNIX)
client.connect("/tmp/app.sock")
served, _ = listener.accept()
client.send(b"ping")
dgram = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
dgram.bind("\0husk-ckpt-dgram")
count = 0


def round_trip():
    pair = pair_b.recv(16)
    pair_a.send(pair)
    stream = served.recv(16)
    client.send(stream)
    fresh = socket.socket(socket.AF_UNIX)
    fresh.connect("/tmp/app.sock")
    other, _ = listener.accept()
    fresh.send(b"new")
    again = other.recv(8).decode()
    fresh.close()
    other.close()
    sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sender.sendto(b"dgram", "\0husk-ckpt-dgram")
    got = dgram.recv(16).decode()
    sender.close()
    return "pair %s stream %s listener %s abstract %s" % (pair.decode(), stream.decode(), again, got)


async def handle(reader, writer):
    global count
    await reader.read(2048)
    count += 1
    body = ("asyncio %d %s\n" % (count, round_trip())).encode()
    writer.write(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    await writer.drain()
    writer.close()


async def main():
    server = await asyncio.start_server(handle, "0.0.0.0", 8080)
    async with server:
        await server.serve_forever()


asyncio.run(main())
