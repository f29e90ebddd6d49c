"""A real SMTP server process for tests and the drill (aiosmtpd), with the ways a relay goes wrong.

    python -m tests.support.smtp_server --port 2525 --mailbox var/mail.jsonl [--mode accept]

Modes:
  accept           take every message; each lands as one JSON line in the mailbox
  refuse           answer 550 to every recipient (a permanent refusal)
  busy             answer 451 to every recipient (a temporary refusal)
  drop-after-data  read the whole message, record it, then hang up without the final 250 for
                   the first ``--drop`` messages (the sender cannot know it arrived), then accept
  drop-on-connect  close every connection before the greeting

Every received message is appended to the mailbox with its Message-ID, so a test can count
deliveries (raw) and distinct messages (what a de-duplicating mailbox shows).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


class Handler:
    def __init__(self, mode: str, mailbox: Path, drops: int, delay: float = 0.0) -> None:
        self.delay = delay
        self.mode = mode
        self.mailbox = mailbox
        self.drops_left = drops

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,  # noqa: N802
                          rcpt_options: list[str]) -> str:
        if self.mode == "refuse":
            return "550 5.1.1 mailbox unavailable"
        if self.mode == "busy":
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        if self.delay:
            await asyncio.sleep(self.delay)  # a relay that takes its time: batches take a while to send
        raw = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        mail = message_from_bytes(raw, policy=default_policy)
        body = mail.get_body(("plain",))
        record: dict[str, Any] = {
            "message_id": str(mail["Message-ID"] or ""), "outbox_id": str(mail["X-Outbox-Id"] or ""),
            "from": envelope.mail_from, "to": list(envelope.rcpt_tos), "subject": str(mail["Subject"] or ""),
            "text": body.get_content() if body is not None else "",
        }
        with self.mailbox.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        if self.mode == "drop-after-data" and self.drops_left > 0:
            self.drops_left -= 1
            assert server.transport is not None
            server.transport.abort()  # hang up: the message is here, the sender never hears so
        return "250 2.0.0 queued"


class DropOnConnect(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mailbox", type=Path, required=True)
    parser.add_argument("--mode", default="accept",
                        choices=["accept", "refuse", "busy", "drop-after-data", "drop-on-connect"])
    parser.add_argument("--drop", type=int, default=1, help="drop-after-data: how many messages to hang up on")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds to wait before accepting each message")
    args = parser.parse_args()
    args.mailbox.parent.mkdir(parents=True, exist_ok=True)
    args.mailbox.touch()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if args.mode == "drop-on-connect":
        server = await loop.create_server(DropOnConnect, "127.0.0.1", args.port)
        print(f"smtp (drop-on-connect) on 127.0.0.1:{args.port}", flush=True)
        await stop.wait()
        server.close()
        return
    controller = Controller(Handler(args.mode, args.mailbox, args.drop, args.delay), hostname="127.0.0.1", port=args.port)
    controller.start()
    print(f"smtp ({args.mode}) on 127.0.0.1:{args.port}", flush=True)
    await stop.wait()
    controller.stop()


def read_mailbox(path: Path) -> list[dict[str, Any]]:
    """The messages a server process wrote, in arrival order."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


if __name__ == "__main__":
    asyncio.run(main())
