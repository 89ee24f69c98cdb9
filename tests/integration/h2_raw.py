"""h2_raw.py: HTTP/2 behaviour of the gateway's h2c port checked with raw
frames from a plain socket (so nothing in between hides what the server
sends): SETTINGS, PING, the header and idle timeouts, an oversized header
list, and a client that stops reading. Used by h2_limits.sh.

Usage: h2_raw.py PORT IDLE_MS HEADER_MS
"""
import socket
import struct
import sys
import time

PORT, IDLE_MS, HEADER_MS = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST, SETTINGS, PING, GOAWAY, WINDOW = 0, 1, 3, 4, 6, 7, 8


def fail(msg):
    raise SystemExit("FAIL: " + msg)


def ok(msg):
    print("ok - " + msg, flush=True)


def frame(ftype, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", sid) + payload


def hpack_literal(name, value):
    # literal header field without indexing, new name, no Huffman
    n, v = name.encode(), value.encode()
    assert len(n) < 127 and len(v) < 127
    return b"\x00" + bytes([len(n)]) + n + bytes([len(v)]) + v


def request_headers(path, extra=()):
    block = b"\x83\x86"  # :method POST, :scheme http (static table)
    block += b"\x04" + bytes([len(path)]) + path.encode()  # :path, indexed name
    block += b"\x01" + bytes([9]) + b"127.0.0.1"  # :authority
    block += hpack_literal("content-type", "application/grpc") + hpack_literal("te", "trailers")
    for k, v in extra:
        block += hpack_literal(k, v)
    return block


class Conn:
    def __init__(self):
        self.s = socket.create_connection(("127.0.0.1", PORT), timeout=10)
        self.buf = b""
        self.s.sendall(PREFACE + frame(SETTINGS, 0, 0))

    def read_frame(self, timeout=5.0):
        """The next frame (type, flags, stream, payload), or None at EOF."""
        self.s.settimeout(timeout)
        while len(self.buf) < 9 or len(self.buf) < 9 + int.from_bytes(self.buf[:3], "big"):
            try:
                d = self.s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                return None
            if not d:
                return None
            self.buf += d
        n = int.from_bytes(self.buf[:3], "big")
        f = (self.buf[3], self.buf[4], int.from_bytes(self.buf[5:9], "big") & 0x7FFFFFFF, self.buf[9:9 + n])
        self.buf = self.buf[9 + n:]
        return f

    def until(self, ftype, timeout=5.0):
        end = time.time() + timeout
        while time.time() < end:
            f = self.read_frame(end - time.time())
            if f is None:
                return None
            if f[0] == ftype:
                return f
        return None


# SETTINGS: max concurrent streams and header list size advertised.
c = Conn()
f = c.until(SETTINGS)
if f is None or f[1] & 1:
    fail("no server SETTINGS")
settings = {struct.unpack(">H", f[3][i:i + 2])[0]: struct.unpack(">I", f[3][i + 2:i + 6])[0]
            for i in range(0, len(f[3]), 6)}
if settings.get(3) != 100 or settings.get(6, 0) < 1024:
    fail("SETTINGS: %s" % settings)
ok("server SETTINGS: MAX_CONCURRENT_STREAMS=%d, MAX_HEADER_LIST_SIZE=%d" % (settings[3], settings[6]))

# PING is answered with the same payload.
c.s.sendall(frame(PING, 0, 0, b"recsys!!"))
f = c.until(PING)
if f is None or not f[1] & 1 or f[3] != b"recsys!!":
    fail("PING: %s" % (f,))
ok("PING answered with an ACK carrying the same 8 bytes")

# Idle: no stream for IDLE_MS: GOAWAY, then the connection closes.
t0 = time.time()
f = c.until(GOAWAY, timeout=IDLE_MS / 1000 + 5)
took = time.time() - t0
if f is None or took < IDLE_MS / 1000 * 0.8:
    fail("idle connection: %s after %.2f s" % (f, took))
if c.read_frame(3) is not None and c.read_frame(3) is not None:
    fail("the idle connection stayed open after GOAWAY")
ok("an idle HTTP/2 connection gets GOAWAY after %.2f s (idle timeout %d ms) and is closed" % (took, IDLE_MS))

# Slowloris: headers sent, the body never ends: closed after the header timeout.
c = Conn()
c.s.sendall(frame(HEADERS, 0x4, 1, request_headers("/recsys.v1.Recommender/GetItem")))  # END_HEADERS only
t0 = time.time()
f = c.until(GOAWAY, timeout=HEADER_MS / 1000 + 5)
took = time.time() - t0
if f is None or took < HEADER_MS / 1000 * 0.8:
    fail("an unfinished request: %s after %.2f s" % (f, took))
ok("a request whose body never ends: GOAWAY after %.2f s (header timeout %d ms)" % (took, HEADER_MS))

# A header list over the limit: refused with RESOURCE_EXHAUSTED (gRPC), the
# connection stays usable.
c = Conn()
big = [("x-pad-%d" % i, "v" * 100) for i in range(120)]
c.s.sendall(frame(HEADERS, 0x5, 1, request_headers("/recsys.v1.Recommender/GetItem", big)))
status = None
while True:
    f = c.read_frame(5)
    if f is None:
        break
    if f[0] == HEADERS and f[2] == 1 and f[1] & 1:  # one HEADERS with END_STREAM: trailers-only
        status = f[3]
        break
    if f[0] in (RST, GOAWAY):
        status = f
        break
if status is None:
    fail("oversized header list: no answer")
if isinstance(status, tuple):
    fail("oversized header list: the stream or connection was reset: %s" % (status,))
ok("a header list over the limit is answered at once with a trailers-only status (h2_limits.sh reads it)")
c.s.sendall(frame(PING, 0, 0, b"still-up"))
f = c.until(PING)
if f is None or f[3] != b"still-up":
    fail("the connection died after the oversized request")
ok("the connection still answers PING after it")

# A client that stops reading: it allows no DATA (initial window 0) and never
# sends WINDOW_UPDATE, so the answer cannot leave: the connection is closed
# after the write and idle timeouts instead of being held forever.
c = Conn()
c.s.sendall(frame(SETTINGS, 0, 0, struct.pack(">HI", 4, 0)))  # SETTINGS_INITIAL_WINDOW_SIZE = 0
msg = b"\x0a\x0cthe-kid-1921"
c.s.sendall(frame(HEADERS, 0x4, 1, request_headers("/recsys.v1.Recommender/GetItem")) +
            frame(DATA, 0x1, 1, b"\0" + struct.pack(">I", len(msg)) + msg))
t0 = time.time()
got_headers = False
while True:
    f = c.read_frame(10)
    if f is None or f[0] == GOAWAY:
        break
    got_headers |= f[0] == HEADERS and f[2] == 1
    if f[0] == DATA and f[2] == 1 and len(f[3]) > 0:
        fail("DATA sent beyond a zero window")
took = time.time() - t0
if not got_headers or took > 8:
    fail("stalled answer: headers %s, %.2f s" % (got_headers, took))
ok("a client that reads no DATA (window 0) gets the headers, then GOAWAY after %.2f s" % took)
