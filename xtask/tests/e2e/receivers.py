"""Notification receivers for the end-to-end tests, on 127.0.0.1.

An SMTP server (aiosmtpd, with AUTH LOGIN/PLAIN for one user) and an HTTP
server that verifies Standard Webhooks signatures with the `standardwebhooks`
package. Everything received is appended to OUT as one JSON line:

  {"kind": "mail", "from": ..., "to": [...], "subject": ..., "text": ..., "auth": user}
  {"kind": "http", "path": ..., "headers": {...}, "body": ..., "verified": true|false|null}

Usage: receivers.py OUT SMTP_PORT HTTP_PORT HTTP_STATUS SMTP_USER SMTP_PASSWORD WEBHOOK_SECRET
Prints "ready" once both listen; stops on SIGTERM.
"""

import email
import json
import signal
import sys
import threading
import warnings
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

# aiosmtpd warns about its own deprecated field on every login.
warnings.simplefilter("ignore")

out_path, smtp_port, http_port, http_status, user, password, secret = sys.argv[1:8]
lock = threading.Lock()


def record(entry):
    with lock, open(out_path, "a", encoding="utf-8") as out:
        out.write(json.dumps(entry) + "\n")


class Mail:
    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        body = message.get_body(preferencelist=("plain",))
        record(
            {
                "kind": "mail",
                "from": envelope.mail_from,
                "to": envelope.rcpt_tos,
                "subject": str(message["subject"]),
                "text": body.get_content() if body is not None else "",
                "auth": session.auth_data.login.decode() if session.auth_data else None,
            }
        )
        return "250 OK"


def authenticate(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (
        auth_data.login.decode(),
        auth_data.password.decode(),
    ) == (user, password)
    return AuthResult(success=ok, auth_data=auth_data if ok else None)


class Http(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        headers = {key.lower(): value for key, value in self.headers.items()}
        verified = None
        if "webhook-signature" in headers:
            try:
                Webhook(secret).verify(body, headers)
                verified = True
            except WebhookVerificationError:
                verified = False
        record(
            {
                "kind": "http",
                "path": self.path,
                "headers": headers,
                "body": body.decode("utf-8"),
                "verified": verified,
            }
        )
        self.send_response(int(http_status))
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


smtp = Controller(
    Mail(),
    hostname="127.0.0.1",
    port=int(smtp_port),
    authenticator=authenticate,
    auth_require_tls=False,
)
smtp.start()
http = ThreadingHTTPServer(("127.0.0.1", int(http_port)), Http)
threading.Thread(target=http.serve_forever, daemon=True).start()
print("ready", flush=True)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
stop.wait()
http.shutdown()
smtp.stop()
