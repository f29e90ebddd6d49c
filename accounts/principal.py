"""Who is asking: the one object every access check takes."""

from __future__ import annotations

import msgspec

from accounts.models import Role


class Principal(msgspec.Struct, frozen=True):
    user_id: int
    role: str
    display_name: str
    department: str | None = None

    @property
    def is_staff(self) -> bool:
        return self.role == Role.staff

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin

    def works_for(self, department: str) -> bool:
        """Staff act for their own department only; administrators for every one."""
        return self.is_admin or (self.is_staff and self.department == department)

    @property
    def label(self) -> str:
        return f"{self.role}:{self.user_id}:{self.display_name}"
