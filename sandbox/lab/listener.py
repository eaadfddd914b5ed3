"""A lab host's listeners: TCP and UDP on the probed ports, one log line per packet exchange.

Run by the lab inside a host's namespace, unprivileged (``python3 -I -S -c <this file>``):
``name tcp-ports udp-ports``, ports comma-separated. TCP: accept, answer a banner (an HTTP
response on port 80, an SSH banner on 22), log ``tcp PORT from ADDR``. UDP: answer
``NAME udp PORT ttl=N`` and log the same with the TTL the datagram arrived with.
Standard library only; its standard output is the listener log.
"""

import socket
import sys
import threading
import time

IP_RECVTTL = getattr(socket, "IP_RECVTTL", 12)
IP_TTL = getattr(socket, "IP_TTL", 2)


def log(line):
    sys.stdout.write(f"{time.time():.3f} {line}\n")
    sys.stdout.flush()


def tcp_banner(name, port):
    if port == 80:
        body = f"wlpanel lab {name}\n"
        return (
            f"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n\r\n{body}"
        ).encode()
    if port == 22:
        return f"SSH-2.0-wlpanel-lab-{name}\r\n".encode()
    return f"wlpanel lab {name} tcp {port}\n".encode()


def tcp_socket(port):
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("0.0.0.0", port))  # noqa: S104 - inside a lab namespace only
    server.listen(16)
    return server


def serve_tcp(name, port, server):
    while True:
        connection, peer = server.accept()
        log(f"tcp {port} from {peer[0]}:{peer[1]}")
        try:
            connection.settimeout(0.5)
            if port == 80:
                try:
                    connection.recv(1024)
                except OSError:
                    pass
            connection.sendall(tcp_banner(name, port))
        except OSError:
            pass
        finally:
            connection.close()


def udp_socket(port):
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.setsockopt(socket.IPPROTO_IP, IP_RECVTTL, 1)
    server.bind(("0.0.0.0", port))  # noqa: S104 - inside a lab namespace only
    return server


def serve_udp(name, port, server):
    while True:
        data, ancillary, _flags, peer = server.recvmsg(2048, socket.CMSG_SPACE(4))
        ttl = next(
            (int.from_bytes(d[:4], sys.byteorder) for level, kind, d in ancillary if kind == IP_TTL), -1
        )
        log(f"udp {port} from {peer[0]}:{peer[1]} ttl={ttl}")
        server.sendto(f"{name} udp {port} ttl={ttl}\n".encode(), peer)


def main(argv):
    name, tcp, udp = argv[1], argv[2], argv[3]
    # Bind everything before saying "listening": the lab waits for that line.
    workers = [
        threading.Thread(target=serve_tcp, args=(name, int(p), tcp_socket(int(p))), daemon=True)
        for p in tcp.split(",")
        if p
    ]
    workers += [
        threading.Thread(target=serve_udp, args=(name, int(p), udp_socket(int(p))), daemon=True)
        for p in udp.split(",")
        if p
    ]
    for worker in workers:
        worker.start()
    log(f"listening {name} tcp={tcp} udp={udp}")
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main(sys.argv)
