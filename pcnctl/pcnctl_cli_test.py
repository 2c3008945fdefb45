#!/usr/bin/env python3
"""Runs the real pcnctl binary against a stub broker on 127.0.0.1.

The stub listens on a free port the kernel picks, records every request it
gets, and answers like the broker would: 308 from /<name>/... to
/<svc>/<name>/..., RESTCONF errors, help JSON. What is checked is what a
user sees: exit status, stdout, stderr, and the requests that reached the
broker (the redirect must keep the method and the body).

usage: pcnctl_cli_test.py /path/to/pcnctl
(PCNCTL_WRAPPER="valgrind -q --leak-check=full --error-exitcode=9" runs it under valgrind.)
"""
import http.server
import json
import os
import shlex
import socket
import subprocess
import sys
import threading
import unittest

PCNCTL = None
PREFIX = "/polycube/v1/"

INSTANCE = {
    "name": "hw1",
    "type": "TC",
    "action": "DROP",
    "ports": [
        {"name": "port1", "status": "UP", "peer": "veth1"},
        {"name": "port2", "status": "DOWN"},
    ],
}

HELP = [
    {"name": "action", "kind": "leaf", "type": "enumeration", "config": True,
     "enum": ["DROP", "SLOWPATH", "FORWARD"], "default": "DROP",
     "description": "What to do with packets"},
    {"name": "ports", "kind": "list", "keys": ["name"], "config": True},
]


def restconf_error(tag, path, message):
    return {"ietf-restconf:errors": {"error": [{
        "error-type": "application", "error-tag": tag,
        "error-path": path, "error-message": message}]}}


class StubBroker(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep the test output readable
        pass

    def reply(self, status, body=None, ctype="application/json", headers=()):
        data = b""
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if data:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode() if n else None
        self.server.log.append({
            "method": self.command, "path": self.path, "body": body,
            "auth": self.headers.get("Authorization"),
            "ctype": self.headers.get("Content-Type"),
            "host": self.headers.get("Host")})
        if not self.path.startswith(PREFIX):
            return self.reply(404, restconf_error("invalid-value", self.path, "no such API"))
        rel = self.path[len(PREFIX):]
        m = self.command

        # /<name>/... without the service: redirect, relative or absolute.
        if rel.startswith("hw1/"):
            return self.reply(308, headers=[("Location", PREFIX + "helloworld/" + rel)])
        if rel.startswith("abs1/"):
            host, port = self.server.server_address
            loc = "http://%s:%d%shelloworld/hw1/%s" % (host, port, PREFIX, rel[len("abs1/"):])
            return self.reply(308, headers=[("Location", loc)])
        if rel.startswith("loop/"):
            return self.reply(308, headers=[("Location", self.path)])

        if rel == "helloworld/hw1/" and m == "GET":
            return self.reply(200, INSTANCE)
        if rel == "helloworld/hw1/?help" and m == "GET":
            return self.reply(200, HELP)
        if rel == "helloworld/hw1/" and m == "DELETE":
            return self.reply(204)
        if rel == "helloworld/hw1/action/" and m == "PATCH":
            value = json.loads(body)
            if value not in ("DROP", "SLOWPATH", "FORWARD"):
                return self.reply(400, restconf_error(
                    "invalid-value", "/helloworld/hw1/action",
                    '"%s" is not one of DROP, SLOWPATH, FORWARD' % value))
            return self.reply(204)
        if rel == "helloworld/hw1/ports/port1/" and m == "POST":
            return self.reply(201)
        if rel == "connect/" and m == "POST":
            return self.reply(200, {})
        if rel == "secure/":
            if self.headers.get("Authorization") != "Bearer tok":
                return self.reply(401, restconf_error("access-denied", "/secure", "bad token"))
            return self.reply(200, {"ok": True})
        if rel == "metrics/":
            return self.reply(200, b"# TYPE pcn_up gauge\npcn_up 1\n", "text/plain")
        if rel == "crash/":
            return self.reply(500, b"internal trouble\n", "text/plain")
        return self.reply(404, restconf_error("invalid-value", "/" + rel.rstrip("/"),
                                              "no such resource"))

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = handle_any


class PcnctlTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StubBroker)
        cls.server.daemon_threads = True
        cls.server.log = []
        cls.thread = threading.Thread(target=cls.server.serve_forever, daemon=True)
        cls.thread.start()
        cls.url = "http://127.0.0.1:%d%s" % (cls.server.server_address[1], PREFIX)

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()

    def setUp(self):
        self.server.log.clear()

    def run_pcnctl(self, *args, env=None, url=True):
        e = {k: v for k, v in os.environ.items()
             if k not in ("PCN_URL", "PCN_TOKEN") and "proxy" not in k.lower()}
        e.update(env or {})
        argv = shlex.split(os.environ.get("PCNCTL_WRAPPER", "")) + [PCNCTL] + (["--url", self.url] if url else []) + list(args)
        p = subprocess.run(argv, capture_output=True, text=True, env=e, timeout=30)
        return p.returncode, p.stdout, p.stderr

    def requests(self):
        return [(r["method"], r["path"], r["body"]) for r in self.server.log]

    # --- the 308 redirect keeps method and body ---------------------------

    def test_post_follows_308_with_body(self):
        rc, out, err = self.run_pcnctl("hw1", "ports", "add", "port1", "peer=veth1")
        self.assertEqual((rc, out, err), (0, "", ""))
        body = '{"peer":"veth1"}'
        self.assertEqual(self.requests(), [
            ("POST", PREFIX + "hw1/ports/port1/", body),
            ("POST", PREFIX + "helloworld/hw1/ports/port1/", body)])
        self.assertEqual(self.server.log[1]["ctype"], "application/json")

    def test_patch_follows_308_with_bare_value(self):
        rc, out, err = self.run_pcnctl("hw1", "set", "action=FORWARD")
        self.assertEqual((rc, out, err), (0, "", ""))
        self.assertEqual(self.requests(), [
            ("PATCH", PREFIX + "hw1/action/", '"FORWARD"'),
            ("PATCH", PREFIX + "helloworld/hw1/action/", '"FORWARD"')])

    def test_delete_follows_308(self):
        rc, _, _ = self.run_pcnctl("hw1", "del")
        self.assertEqual(rc, 0)
        self.assertEqual(self.requests(), [
            ("DELETE", PREFIX + "hw1/", None),
            ("DELETE", PREFIX + "helloworld/hw1/", None)])

    def test_absolute_location(self):
        rc, _, _ = self.run_pcnctl("abs1", "ports", "add", "port1", "peer=veth1")
        self.assertEqual(rc, 0)
        self.assertEqual(self.requests()[1],
                         ("POST", PREFIX + "helloworld/hw1/ports/port1/", '{"peer":"veth1"}'))

    # --- the broker's gateway refuses other bodies (415) and Hosts (421) ---

    def test_every_write_declares_json_and_names_the_host(self):
        host = "127.0.0.1:%d" % self.server.server_address[1]
        for args in (("hw1", "ports", "add", "port1", "peer=veth1"),
                     ("hw1", "set", "action=FORWARD"), ("hw1", "del")):
            self.server.log.clear()
            rc, _, err = self.run_pcnctl(*args)
            self.assertEqual((rc, err), (0, ""), args)
            self.assertEqual(len(self.server.log), 2, args)
            for r in self.server.log:
                self.assertEqual(r["ctype"], "application/json", r)
                self.assertEqual(r["host"], host, r)

    def test_redirect_loop_is_an_error(self):
        rc, out, err = self.run_pcnctl("loop", "show")
        self.assertEqual(rc, 1)
        self.assertIn("redirects", err)
        self.assertLessEqual(len(self.server.log), 10)

    def test_verbose_shows_each_hop(self):
        rc, _, err = self.run_pcnctl("-v", "hw1", "set", "action=FORWARD")
        self.assertEqual(rc, 0)
        self.assertIn("> PATCH %shw1/action/\n" % self.url, err)
        self.assertIn("> PATCH %shelloworld/hw1/action/\n" % self.url, err)
        self.assertIn("< 308\n", err)
        self.assertIn("< 204\n", err)

    # --- output ---------------------------------------------------------

    def test_show_text(self):
        rc, out, err = self.run_pcnctl("hw1", "show")
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(out,
                         "name: hw1\ntype: TC\naction: DROP\nports:\n"
                         "  name   status  peer\n"
                         "  port1  UP      veth1\n"
                         "  port2  DOWN\n")

    def test_show_json(self):
        for flag in ("-j", "--json"):
            rc, out, _ = self.run_pcnctl("hw1", "show", flag)
            self.assertEqual(rc, 0)
            self.assertEqual(json.loads(out), INSTANCE)

    def test_no_verb_is_show(self):
        rc, out, _ = self.run_pcnctl("hw1")
        self.assertEqual(rc, 0)
        self.assertEqual(self.requests()[-1], ("GET", PREFIX + "helloworld/hw1/", None))
        self.assertIn("name: hw1\n", out)

    def test_help(self):
        rc, out, err = self.run_pcnctl("hw1", "?")
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(self.requests()[-1], ("GET", PREFIX + "helloworld/hw1/?help", None))
        self.assertIn("NAME", out)
        self.assertIn("DROP|SLOWPATH|FORWARD", out)
        self.assertIn("pcnctl hw1 set <leaf>=<value>", out)
        self.assertIn("pcnctl hw1 ports add <name>", out)

    def test_non_json_passthrough(self):
        rc, out, _ = self.run_pcnctl("metrics")
        self.assertEqual((rc, out), (0, "# TYPE pcn_up gauge\npcn_up 1\n"))

    def test_connect_body(self):
        rc, _, _ = self.run_pcnctl("connect", "br1:port1", "veth1")
        self.assertEqual(rc, 0)
        self.assertEqual(self.requests(), [
            ("POST", PREFIX + "connect/", '{"peer1":"br1:port1","peer2":"veth1"}')])

    # --- errors and exit status -------------------------------------------

    def test_restconf_error(self):
        rc, out, err = self.run_pcnctl("hw1", "set", "action=FLY")
        self.assertEqual((rc, out), (1, ""))
        self.assertEqual(err, 'Error: "FLY" is not one of DROP, SLOWPATH, FORWARD\n'
                              "  at /helloworld/hw1/action\n")

    def test_not_found(self):
        rc, out, err = self.run_pcnctl("nope", "show")
        self.assertEqual((rc, out), (1, ""))
        self.assertIn("Error: no such resource", err)

    def test_plain_error_body(self):
        rc, _, err = self.run_pcnctl("crash")
        self.assertEqual(rc, 1)
        self.assertEqual(err, "Error: HTTP 500 Internal Server Error: internal trouble\n")

    def test_usage_errors_send_nothing(self):
        for args in (["hw1", "set", "action="], ["add", "hw1"], ["connect", "x"],
                     ["hw1", "show", "--bogus"], []):
            rc, _, err = self.run_pcnctl(*args)
            self.assertEqual(rc, 2, args)
            self.assertTrue(err, args)
        self.assertEqual(self.server.log, [])

    def test_unreachable(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()  # nobody listens there now
        url = "http://127.0.0.1:%d/polycube/v1/" % port
        rc, out, err = self.run_pcnctl("--url", url, "cubes", url=False)
        self.assertEqual((rc, out), (3, ""))
        self.assertIn("cannot reach the broker at %s" % url, err)

    def test_help_and_version(self):
        rc, out, _ = self.run_pcnctl("--help", url=False)
        self.assertEqual(rc, 0)
        self.assertIn("Usage: pcnctl", out)
        # Each command's usage is a line of its own: a "pcnctl <...>" after
        # other text on a line is two entries run together (a lost newline).
        commands = out.split("Commands:\n", 1)[1].split("\n\n", 1)[0].splitlines()
        self.assertTrue(any(l.startswith("  pcnctl <words...> ?") for l in commands), commands)
        for line in out.splitlines():
            self.assertNotRegex(line, r"\S.*\bpcnctl <", "two usage lines run together")
            self.assertLessEqual(len(line), 80, "wider than a terminal: %r" % line)
        for line in commands:
            self.assertTrue(line.startswith("  pcnctl ") or line.startswith(" " * 20), line)
        rc, out, _ = self.run_pcnctl("--version", url=False)
        self.assertEqual(rc, 0)
        self.assertRegex(out, r"^pcnctl \d+\.\d+")
        rc, out, _ = self.run_pcnctl("?", url=False)
        self.assertEqual(rc, 0)
        self.assertIn("Usage: pcnctl", out)
        self.assertEqual(self.server.log, [])

    # --- address and token ------------------------------------------------

    def test_url_from_environment(self):
        rc, _, _ = self.run_pcnctl("hw1", "show", env={"PCN_URL": self.url.rstrip("/")},
                                   url=False)
        self.assertEqual(rc, 0)
        self.assertEqual(self.requests()[0][1], PREFIX + "hw1/")

    def test_token(self):
        rc, _, err = self.run_pcnctl("secure")
        self.assertEqual(rc, 1)
        self.assertIn("bad token", err)
        rc, _, _ = self.run_pcnctl("--token", "tok", "secure")
        self.assertEqual(rc, 0)
        rc, _, _ = self.run_pcnctl("secure", env={"PCN_TOKEN": "tok"})
        self.assertEqual(rc, 0)
        self.assertEqual(self.server.log[-1]["auth"], "Bearer tok")

    def test_token_kept_across_redirect(self):
        rc, _, _ = self.run_pcnctl("--token=tok", "hw1", "show")
        self.assertEqual(rc, 0)
        self.assertEqual([r["auth"] for r in self.server.log], ["Bearer tok", "Bearer tok"])


if __name__ == "__main__":
    if len(sys.argv) < 2 or not os.access(sys.argv[1], os.X_OK):
        sys.exit("usage: %s /path/to/pcnctl" % sys.argv[0])
    PCNCTL = sys.argv.pop(1)
    unittest.main(verbosity=2)
