#!/usr/bin/env python3
"""Login load: N threads log in over and over (POST /api/v1/session with password and a
fresh TOTP code) for a while; prints one JSON line of figures.

Each login uses a user whose TOTP step is not used yet (the server refuses a code's step
twice), taking users round-robin from PREFIX1..PREFIXcount, all with the same password and
base32 secret. Standard library only.

usage: login_load.py URL PREFIX FIRST COUNT PASSWORD SECRET CONCURRENCY SECONDS [burst ROUNDS]

With `burst ROUNDS`, instead: CONCURRENCY logins start together, all wait for the slowest,
a pause of SECONDS, ROUNDS times (people arriving at once, not a flood).
"""
import base64
import hashlib
import hmac
import http.client
import json
import struct
import sys
import threading
import time
import urllib.parse


def totp(secret_b32, t):
    key = base64.b32decode(secret_b32.upper() + "=" * (-len(secret_b32) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(t) // 30), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    code = (struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{code:06d}"


def main():
    url, prefix, first, count, password, secret, conc, seconds = sys.argv[1:9]
    first, count, conc, seconds = int(first), int(count), int(conc), float(seconds)
    rounds = int(sys.argv[10]) if len(sys.argv) > 10 and sys.argv[9] == "burst" else 0
    u = urllib.parse.urlparse(url)
    lock = threading.Lock()
    state = {"next": 0, "used": {}}
    lat, statuses, samples = [], {}, {}
    stop_at = time.monotonic() + seconds

    def pick():
        with lock:
            step = int(time.time()) // 30
            for _ in range(count):
                i = state["next"] % count + first
                state["next"] += 1
                if state["used"].get(i) != step:
                    state["used"][i] = step
                    return f"{prefix}{i}", step
        return None, None

    barrier = threading.Barrier(conc) if rounds else None

    def one(conn):
        name, step = pick()
        if name is None:
            time.sleep(0.05)
            return conn
        body = json.dumps({"username": name, "password": password,
                           "totp": totp(secret, step * 30)})
        t0 = time.perf_counter()
        try:
            conn.request("POST", "/api/v1/session", body,
                         {"content-type": "application/json"})
            r = conn.getresponse()
            text = r.read()
            status = r.status
            if status != 200:
                with lock:
                    samples.setdefault(str(status), text.decode("utf-8", "replace")[:300])
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
            status = 0
        dt = time.perf_counter() - t0
        with lock:
            lat.append(dt)
            statuses[status] = statuses.get(status, 0) + 1
        return conn

    def burst_worker():
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        for _ in range(rounds):
            barrier.wait()
            conn = one(conn)
            barrier.wait()
            time.sleep(seconds)

    def worker():
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        while time.monotonic() < stop_at:
            conn = one(conn)

    started = time.monotonic()
    target = burst_worker if rounds else worker
    threads = [threading.Thread(target=target) for _ in range(conc)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    lat.sort()

    def pct(p):
        return lat[min(len(lat) - 1, int(len(lat) * p))] * 1000 if lat else 0.0

    print(json.dumps({
        "logins": len(lat),
        "per_second": None if rounds else round(len(lat) / elapsed, 1),
        "ok": statuses.get(200, 0),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "non_200_samples": samples,
        "p50_ms": round(pct(0.50), 1),
        "p95_ms": round(pct(0.95), 1),
        "p99_ms": round(pct(0.99), 1),
        "max_ms": round(lat[-1] * 1000, 1) if lat else 0.0,
    }))


if __name__ == "__main__":
    main()
