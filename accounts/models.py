from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Boolean, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.db import Base


class Role(StrEnum):
    buyer = "buyer"
    creditor = "creditor"
    staff = "staff"
    admin = "admin"


# What a person's role is called on the pages staff read (an item's history, its thread).
ROLE_NAMES: dict[str, tuple[str, str]] = {
    Role.buyer: ("买受人", "buyer"),
    Role.creditor: ("申请执行人", "creditor"),
    Role.admin: ("管理员", "administrator"),
    Role.staff: ("工作人员", "staff"),
}


class User(Base):
    __tablename__ = "user_account"

    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    department: Mapped[str | None] = mapped_column(String(40))
    phone: Mapped[str | None] = mapped_column(String(20))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    # Sessions carry the version they were issued under; a trigger bumps it when is_active, role,
    # department or password_hash change, and an administrator can bump it (accounts.sessions).
    session_version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
