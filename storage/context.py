"""What request handlers in every domain may reach on ``app.state.ctx``.

The composition root (portal.app) builds it; domain packages only read it, so they do
not import portal/.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeAlias

from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from storage.throttle import Throttle


@dataclass
class AppContext:
    settings: Any  # portal.settings.Settings
    engine: AsyncEngine
    throttle: Throttle
    code_checker: Any  # title_transfer.access.CodeChecker
    extras: dict[str, Any] = field(default_factory=dict)


# The request's database session, injected by name (advanced-alchemy's plugin provides it).
DbSession: TypeAlias = NamedDependency[AsyncSession]
