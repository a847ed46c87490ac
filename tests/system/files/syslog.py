#!/usr/bin/python3
"""Minimal syslog receiver for the SysV system-test container (no journald there).

Binds the unix datagram socket SOCKET (/dev/log) and appends one line per message to
LOGFILE: "<epoch.micro> <ident> <message>", the ident being the RFC 3164 tag without
its [pid] ("clamav-freshen", "sudo"). `systest audit-since` reads it back.
"""
import os
import re
import socket
import sys
import time

SOCKET, LOGFILE = sys.argv[1], sys.argv[2]
# <PRI>[Mmm dd hh:mm:ss ][host ]tag[pid]: message   (host only from remote senders)
HEADER = re.compile(rb"^<\d{1,3}>(?:[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d )?"
                    rb"(?:([^\s\[:]+)(?:\[\d+\])?: ?)?")

try:
    os.unlink(SOCKET)
except FileNotFoundError:
    pass
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(SOCKET)
os.chmod(SOCKET, 0o666)
with open(LOGFILE, "a", buffering=1, encoding="utf-8", errors="replace") as out:
    while True:
        data = sock.recv(65536)
        m = HEADER.match(data)
        tag = (m.group(1) or b"-") if m else b"-"
        msg = data[m.end():] if m else data
        msg = msg.rstrip(b"\n").replace(b"\n", b" ")
        out.write(f"{time.time():.6f} {tag.decode(errors='replace')} "
                  f"{msg.decode(errors='replace')}\n")
