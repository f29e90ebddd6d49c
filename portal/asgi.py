"""ASGI entry point for uvicorn/gunicorn: `uvicorn portal.asgi:app`."""

import gc

from portal.app import create_app

app = create_app()
# What the modules and the app hold for the process's life (~190,000 objects) leaves the garbage
# collector's view: each full collection walked all of them, a pause that stalled every request in
# flight (0.9 s on the busy 2-core bench box, where requests are ~10 ms). Only the server's entry
# freezes: tests build many apps in one process, and frozen ones would never be collected.
gc.collect()
gc.freeze()
