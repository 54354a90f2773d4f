"""TLS beside plain HTTP on one port: a connection is TLS when its first byte opens a TLS
handshake, plain HTTP otherwise.

So turning TLS on never breaks a client that speaks plain HTTP to docrsim today, and the
proxy's tunnels reach the same two ports as direct clients do. The handshake happens on the
connection's own thread, with a deadline, so a client that connects and stays silent holds up
no one else.
"""

from __future__ import annotations

import socket
import ssl

# A connection may wait a while before its first byte (browsers open some ahead of need); once
# a handshake has begun it must finish promptly.
FIRST_BYTE_TIMEOUT_SECONDS = 120
HANDSHAKE_TIMEOUT_SECONDS = 10
_HANDSHAKE_RECORD = b"\x16"  # the first byte of every TLS ClientHello


def accept(connection: socket.socket, context: ssl.SSLContext) -> tuple[socket.socket, bool]:
    """The connection as the client opened it: wrapped and handshaken when it starts with a
    TLS handshake (``True``), else as it is. Raises OSError (ssl.SSLError included) when the
    handshake fails, as it does for a client that does not trust docrsim's CA."""
    connection.settimeout(FIRST_BYTE_TIMEOUT_SECONDS)
    try:
        first = connection.recv(1, socket.MSG_PEEK)
    finally:
        connection.settimeout(None)
    if first != _HANDSHAKE_RECORD:
        return connection, False
    connection.settimeout(HANDSHAKE_TIMEOUT_SECONDS)
    # The TLS socket takes over the connection's descriptor (and its timeout, until done).
    secure = context.wrap_socket(connection, server_side=True)
    secure.settimeout(None)
    return secure, True
