"""Run this folder's tests in the network namespace ``unshare --net`` made for this process:
bring its loopback up (a new namespace starts with it down), then hand over to pytest."""

from __future__ import annotations

import fcntl
import os
import socket
import struct
import sys

_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 0x1


def loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sh", b"lo", 0)
        flags = struct.unpack("16sh", fcntl.ioctl(sock, _SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, _SIOCSIFFLAGS, struct.pack("16sh", b"lo", flags | _IFF_UP))


if __name__ == "__main__":
    loopback_up()
    os.environ["DOCRSIM_ISOLATION"] = "netns"
    os.execv(sys.executable, [sys.executable, "-m", "pytest", *sys.argv[1:]])
