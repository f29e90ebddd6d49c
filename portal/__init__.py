"""The composition root. Importing it registers every domain's form kinds with the queue
(portal/form_wiring.py), so each process the portal runs (the web app, the outbox sender,
the CLI, scripts) sees the same kinds."""

from portal import form_wiring as _form_wiring  # noqa: F401 - registers on import
