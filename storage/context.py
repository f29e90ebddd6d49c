"""The shared objects the composition root builds once per app (``app.state.ctx``).

Handlers do not read it directly: the web kernel's dependency providers
(:mod:`kernel.deps`) hand out its parts by name, typed. Domain packages never import
portal/, so the types of portal-built objects are left open here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias

from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from storage.chat_log import ChatLog
from storage.throttle import Throttle


@dataclass
class AppContext:
    settings: Any  # portal.settings.Settings
    engine: AsyncEngine
    throttle: Throttle
    code_checker: Any  # title_transfer.access.CodeChecker
    document_store: Any = None  # documents.DocumentStore, when configured
    http: Any = None  # httpx.AsyncClient, opened at start-up and closed at shutdown
    outbox_drainer: Any = None  # backoffice.notify.Drainer, when the queue is wired
    rasa: Any = None  # portal.rasa_replicas.RasaReplicas: the chat's Rasa replicas and which are down
    chat_log: ChatLog | None = None  # the chat's turns by sender


# The request's database session, injected by name (advanced-alchemy's plugin provides it).
DbSession: TypeAlias = NamedDependency[AsyncSession]
