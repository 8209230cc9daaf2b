"""A webhook receiver for the fault and benchmark scripts (python3 standard library only).

Listens on 127.0.0.1:PORT and answers every POST with 200 (HTTP/1.1, connections kept open).
With --log FILE it appends one line per request received, tab-separated:

    event id (the body's "id")   webhook-id header   signature (ok | bad | none)   time (ms)

checking webhook-signature (Standard Webhooks: HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.
{body}" with the secret, "v1,<base64>") when --secret whsec_... is given. --delay-ms holds each
answer back, so that deliveries are still under way when a fault script strikes.

    python3 tests/fault/webhook_receiver.py --port 28500 --log received.tsv --secret whsec_...
"""

import argparse
import base64
import hashlib
import hmac
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def expected_signature(secret, message_id, timestamp, body):
    mac = hmac.new(secret, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def make_handler(log, secret, delay):
    lock = threading.Lock()

    class Receiver(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            message_id = self.headers.get("webhook-id", "-")
            if log is not None:
                try:
                    event_id = json.loads(body).get("id", "-")
                except ValueError:
                    event_id = "-"
                signature = "none"
                if secret is not None and "webhook-signature" in self.headers:
                    wanted = expected_signature(
                        secret, message_id, self.headers.get("webhook-timestamp", ""), body
                    )
                    # The header may carry several space-separated signatures.
                    sent = self.headers["webhook-signature"].split()
                    signature = "ok" if any(hmac.compare_digest(s, wanted) for s in sent) else "bad"
                line = f"{event_id}\t{message_id}\t{signature}\t{int(time.time() * 1000)}\n"
                with lock:
                    log.write(line)
                    log.flush()
            if delay:
                time.sleep(delay)
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format, *args):
            pass

    return Receiver


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", help="append one line per request to this file")
    parser.add_argument("--secret", help="the webhook's whsec_ secret, to check signatures")
    parser.add_argument("--delay-ms", type=int, default=0)
    args = parser.parse_args()
    secret = None
    if args.secret:
        secret = base64.b64decode(args.secret.removeprefix("whsec_"))
    log = open(args.log, "a", encoding="utf-8") if args.log else None
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(log, secret, args.delay_ms / 1000))
    server.daemon_threads = True
    print(f"receiving on 127.0.0.1:{args.port}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
