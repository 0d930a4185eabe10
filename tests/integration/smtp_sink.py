#!/usr/bin/python3
"""A real SMTP server on loopback for the monitor's integration tests (aiosmtpd, from Debian's
python3-aiosmtpd). Saves every message it accepts as <dir>/<n>.eml, and writes the port it
listens on to --port-file once it is ready. Runs until killed.

    smtp_sink.py --dir DIR --port-file FILE [--auth USER:PASSWORD] [--port PORT]
                 [--starttls CERT KEY]
"""
import argparse
import os
import signal
import socket
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class SaveToDirectory:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            name = os.path.join(self.directory, "%04d.eml" % self.count)
        header = "X-Envelope-From: %s\nX-Envelope-To: %s\n" % (
            envelope.mail_from, ", ".join(envelope.rcpt_tos))
        temp = name + ".tmp"
        with open(temp, "wb") as out:
            out.write(header.encode())
            out.write(envelope.original_content or envelope.content)
        os.rename(temp, name)
        return "250 Message accepted for delivery"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--auth", help="USER:PASSWORD that AUTH must present")
    parser.add_argument("--port", type=int, default=0, help="default: any free port")
    parser.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"),
                        help="offer STARTTLS with this certificate and require it")
    args = parser.parse_args()

    kwargs = {}
    if args.auth:
        user, password = args.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (isinstance(auth_data, LoginPassword) and
                  auth_data.login.decode() == user and auth_data.password.decode() == password)
            return AuthResult(success=ok)

        kwargs = dict(authenticator=authenticator, auth_required=True, auth_require_tls=False)

    if args.starttls:
        import ssl
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.starttls[0], args.starttls[1])
        kwargs.update(tls_context=context, require_starttls=True)
        if args.auth:
            kwargs.update(auth_require_tls=True)

    controller = Controller(SaveToDirectory(args.dir), hostname="127.0.0.1", port=args.port or free_port(),
                            **kwargs)
    controller.start()
    with open(args.port_file + ".tmp", "w") as out:
        out.write(str(controller.port))
    os.rename(args.port_file + ".tmp", args.port_file)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
