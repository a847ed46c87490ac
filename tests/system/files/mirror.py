#!/usr/bin/python3
"""Local ClamAV mirror for the system tests (runs inside the test container).

Serves DIR over HTTP on ADDR:PORT. The behaviour is read from MODEFILE at every
request, so a test switches it with one write:
  ok            serve files (If-Modified-Since honoured, like a CDN; a single
                `Range: bytes=A-B` answered 206, as nginx and Apache do)
  429 [SECS]    Too Many Requests, with Retry-After SECS when given
  403           Forbidden
  404           Not Found
  hang          accept the connection and never answer (closed after 15 min)
Every request is logged to /var/log/systest-mirror.log: "<epoch> <method> <path> <status>".
"""
import http.server
import os
import re
import sys
import time

ADDR, PORT, ROOT, MODEFILE = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
LOG = "/var/log/systest-mirror.log"


def mode():
    try:
        with open(MODEFILE) as f:
            return f.read().split()
    except OSError:
        return ["ok"]


class Handler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *a, **kw):
        super().__init__(*a, directory=ROOT, **kw)

    def log_request(self, code="-", size="-"):
        with open(LOG, "a") as f:
            f.write(f"{int(time.time())} {self.command} {self.path} {code}\n")

    def log_message(self, format, *args):
        # Not to stderr: that is the journal, and the "journald stopped" fault closes it
        # (a write error there would abort the request with an empty answer).
        with open(LOG, "a") as f:
            f.write(f"{int(time.time())} # {format % args}\n")

    def _fault(self):
        m = mode() or ["ok"]
        if m[0] == "hang":
            with open(LOG, "a") as f:
                f.write(f"{int(time.time())} {self.command} {self.path} hang\n")
            time.sleep(900)
            self.close_connection = True
            return True
        if m[0] in ("429", "403", "404"):
            self.send_response(int(m[0]))
            if m[0] == "429" and len(m) > 1:
                self.send_header("Retry-After", m[1])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return True
        return False

    def _range(self):
        """206 for `Range: bytes=A-B` on an existing file; False when not a range."""
        r = self.headers.get("Range", "")
        m = re.fullmatch(r"bytes=(\d+)-(\d+)", r.strip())
        path = self.translate_path(self.path)
        if not m or not os.path.isfile(path):
            return False
        first, last = int(m.group(1)), int(m.group(2))
        size = os.path.getsize(path)
        if first >= size or last < first:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return True
        last = min(last, size - 1)
        with open(path, "rb") as f:
            f.seek(first)
            data = f.read(last - first + 1)
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        return True

    def do_GET(self):
        if not self._fault() and not self._range():
            super().do_GET()

    def do_HEAD(self):
        if not self._fault():
            super().do_HEAD()


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


if __name__ == "__main__":
    os.chdir(ROOT)
    Server((ADDR, PORT), Handler).serve_forever()
