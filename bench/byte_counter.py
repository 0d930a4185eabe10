#!/usr/bin/env python3
"""W6's wire meter: a TCP relay from 127.0.0.1:LISTEN to 127.0.0.1:UPSTREAM (the benchmark's
sshd) that counts the bytes it relays in each direction, so fsmirror's one long connection and
lsyncd's connection per batch are counted the same way.

It rewrites COUNTS_FILE ("client_to_server server_to_client", bytes since start) whenever the
relay has been idle for 20 ms after traffic, so a reader that waits a little after a transfer
sees the final numbers. Exits on SIGTERM. Usage: byte_counter.py LISTEN UPSTREAM COUNTS_FILE"""

import os
import selectors
import signal
import socket
import sys


def main() -> int:
    listen_port, upstream_port, counts_file = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", listen_port))
    server.listen(64)
    selector = selectors.DefaultSelector()
    selector.register(server, selectors.EVENT_READ, None)
    totals = [0, 0]  # client->server, server->client
    dirty = True

    def write_counts() -> None:
        temp = counts_file + ".tmp"
        with open(temp, "w") as out:
            out.write(f"{totals[0]} {totals[1]}\n")
        os.replace(temp, counts_file)

    while True:
        events = selector.select(timeout=0.02)
        if not events and dirty:
            write_counts()
            dirty = False
        for key, _ in events:
            if key.data is None:
                client, _ = server.accept()
                upstream = socket.create_connection(("127.0.0.1", upstream_port))
                for sock in (client, upstream):
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                selector.register(client, selectors.EVENT_READ, (upstream, 0))
                selector.register(upstream, selectors.EVENT_READ, (client, 1))
                continue
            peer, direction = key.data
            if key.fileobj.fileno() < 0:  # closed with its peer earlier in this round
                continue
            try:
                data = key.fileobj.recv(1 << 20)
            except OSError:
                data = b""
            if data:
                peer.sendall(data)
                totals[direction] += len(data)
                dirty = True
            else:
                for sock in (key.fileobj, peer):
                    try:
                        selector.unregister(sock)
                    except (KeyError, ValueError):
                        pass
                    sock.close()


if __name__ == "__main__":
    sys.exit(main())
