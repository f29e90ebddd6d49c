"""The composition root. Importing it registers every domain's form kinds and notices with the
queue (portal/form_wiring.py), so each process the portal runs (the web app, the outbox sender,
the CLI, scripts) sees the same kinds and words the same notices."""

from portal import form_wiring as _form_wiring  # noqa: F401 - registers on import
