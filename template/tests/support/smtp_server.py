"""A real SMTP server for the tests, built on aiosmtpd.

Usage: smtp_server.py PORT MAIL_DIR [USERNAME PASSWORD]

Listens on 127.0.0.1:PORT and writes every accepted message to MAIL_DIR as one .eml
file (written aside, then renamed, so readers never see half a message).
Recipients whose local part starts with "rejected" get a permanent 550 reply, those
starting with "busy" a temporary 451, so tests can see how the app treats both. With
USERNAME and PASSWORD, clients must log in first (over plain text: it is a local test
server). Prints "ready" once it accepts connections and runs until stopped.
"""

import logging
import os
import signal
import sys
import threading
import uuid
import warnings

try:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword
except ImportError:
    sys.exit(
        "aiosmtpd is missing: install python3-aiosmtpd (Debian/Ubuntu) or "
        "`pip install aiosmtpd`, or set TEST_SMTP_PYTHON to a python3 that has it"
    )


class Handler:
    def __init__(self, maildir):
        self.maildir = maildir

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local_part = address.split("@")[0]
        if local_part.startswith("rejected"):
            return "550 5.1.1 No such mailbox here"
        if local_part.startswith("busy"):
            return "451 4.3.2 Busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        path = os.path.join(self.maildir, uuid.uuid4().hex)
        with open(path + ".part", "wb") as message:
            message.write(envelope.original_content)
        os.replace(path + ".part", path + ".eml")
        return "250 Message accepted for delivery"


def authenticator(username, password):
    def check(server, session, envelope, mechanism, auth_data):
        valid = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == username
            and auth_data.password.decode() == password
        )
        return AuthResult(success=valid)

    return check


def main():
    port, maildir = int(sys.argv[1]), sys.argv[2]
    os.makedirs(maildir, exist_ok=True)
    # aiosmtpd warns about AUTH without TLS on every session; here that is the point.
    warnings.simplefilter("ignore")
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    options = {}
    if len(sys.argv) == 5:
        options = dict(
            authenticator=authenticator(sys.argv[3], sys.argv[4]),
            auth_required=True,
            auth_require_tls=False,
        )
    controller = Controller(Handler(maildir), hostname="127.0.0.1", port=port, **options)
    controller.start()
    print("ready", flush=True)

    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    stopped.wait()
    controller.stop()


if __name__ == "__main__":
    main()
