"""The outbox sender as a process of its own: `python -m portal send`.

In the production shape the portal replicas run with ``NOTIFY_INTERVAL_SECONDS=0`` and
``DIGEST_INTERVAL_SECONDS=0`` and one (or more) sender processes drain the outbox and queue
the staff digests instead, so a slow SMTP relay never holds a web worker. Several senders
may run: claims are conditional updates with a lease, so a row goes to one of them; a
sender killed mid-batch leaves its claimed rows to be sent again after the lease
(at-least-once, with the outbox id as the e-mail's Message-ID for de-duplication).

The loop survives the database or the relay being down: a failed round is logged and the
next one tries again. SIGINT or SIGTERM stops it; a message it was sending at that moment
stays claimed until the lease runs out and is then sent again (same Message-ID).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import signal

from sqlalchemy.ext.asyncio import create_async_engine

from backoffice import notify
from backoffice.digest import DigestJob
from portal.queue_wiring import build_sender
from portal.settings import Settings

log = logging.getLogger("portal.sender")
DEFAULT_INTERVAL = 5


async def run_sender(settings: Settings, stop: asyncio.Event | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    engine = create_async_engine(settings.database.url, pool_pre_ping=True)
    sender = build_sender(settings)
    drainer = notify.Drainer(engine, sender, settings.queue.notify_interval_seconds or DEFAULT_INTERVAL,
                             batch=settings.queue.notify_batch,
                             lease=dt.timedelta(seconds=settings.queue.notify_lease_seconds))
    digests = DigestJob(engine, settings.queue.digest_interval_seconds, settings.queue.digest_hour)
    log.info("outbox sender: %s every %ss", sender.name, drainer.interval)
    print(f"· outbox sender ({sender.name}) running; Ctrl-C stops it", flush=True)
    await drainer.start()
    await digests.start()
    try:
        await stop.wait()
    finally:
        await digests.stop()
        await drainer.stop()
        await engine.dispose()
    return 0
