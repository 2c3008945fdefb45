#!/usr/bin/env python3
"""Creates and deletes helloworld instances through the REST API, one
request at a time on one keep-alive connection, and times it.

usage: instances.py URL PREFIX COUNT   (URL ends in /polycube/v1/)
prints: create_s=... delete_s=... failed=...
With HOLD=1 in the environment it stops after creating, prints the line,
waits for a line on stdin, then deletes (to measure memory in between).
"""
import http.client
import os
import sys
import time
import urllib.parse


def main():
    url, prefix, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    base = u.path.rstrip("/")
    failed = 0

    def req(method, path, body=None):
        nonlocal failed
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, base + path, body=body, headers=headers)
        r = conn.getresponse()
        r.read()
        if r.status // 100 != 2:
            failed += 1
            if failed <= 3:
                sys.stderr.write("%s %s: %d\n" % (method, path, r.status))

    t0 = time.monotonic()
    for i in range(count):
        req("POST", "/helloworld/%s%d/" % (prefix, i), "{}")
    t1 = time.monotonic()
    if os.environ.get("HOLD") == "1":
        print("create_s=%.4f failed=%d" % (t1 - t0, failed), flush=True)
        sys.stdin.readline()
    t2 = time.monotonic()
    for i in range(count):
        req("DELETE", "/helloworld/%s%d/" % (prefix, i))
    t3 = time.monotonic()
    print("create_s=%.4f delete_s=%.4f failed=%d" % (t1 - t0, t3 - t2, failed), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
