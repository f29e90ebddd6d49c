"""Administrators: find a user and end all of their sessions (every replica, within seconds)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy import or_, select

from accounts.models import User
from accounts.principal import Principal
from accounts.sessions import SessionChecker, end_sessions
from kernel.guards import requires_admin
from storage.audit import record_audit
from storage.context import DbSession

MAX_ROWS = 50


class AdminUsersController(Controller):
    path = "/admin/users"
    include_in_schema = False
    guards = [requires_admin]

    @get("/", name="admin.users")
    async def users(self, request: Request[Any, Any, Any], db_session: DbSession, q: FromQuery[str] = "",
                    done: FromQuery[str] = "") -> Template:
        query = q.strip()[:254]
        stmt = select(User).order_by(User.id).limit(MAX_ROWS)
        if query:
            like = f"%{query.replace('%', '').replace('_', '')}%"
            stmt = stmt.where(or_(User.email.ilike(like), User.display_name.ilike(like)))
        rows = list((await db_session.scalars(stmt)).all())
        return Template("admin_users.html", context={"users": rows, "q": query, "done": done[:254]},
                        headers={"Cache-Control": "no-store"})

    @post("/{user_id:int}/end-sessions", name="admin.users.end_sessions", status_code=303)
    async def end(self, request: Request[Any, Any, Any], db_session: DbSession,
                  user_id: FromPath[int]) -> Redirect:
        admin: Principal = request.user
        if not 0 < user_id < 2**63:
            raise NotFoundException()
        user = await db_session.get(User, user_id)
        if user is None or not await end_sessions(db_session, user_id):
            raise NotFoundException()
        record_audit(db_session, actor_id=admin.user_id, actor_label=admin.label, subject_type="user",
                     subject_id=user_id, action="end_sessions")
        await db_session.commit()
        checker: SessionChecker = request.app.state.session_checker
        checker.expire_cache(user_id)  # this replica at once; the others within checker.ttl
        return Redirect(f"/admin/users?done={user.email}", status_code=303)
