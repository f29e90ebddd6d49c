"""The back-office work queue (一窗受理): items, claims, department inboxes, notifications.

Other domains plug in through :mod:`backoffice.registry` and :func:`backoffice.service.open_item`
/ :func:`backoffice.service.follow_source`; the composition root (portal) connects them.
"""
