"""Who to call or visit: a contact per department and per court, kept as data.

``accounts/data/contacts.toml`` (or the file named by ``CONTACTS_FILE``) is read and validated
once, at start-up (``portal.app.create_app`` calls :func:`contacts`): every department needs an
entry, a phone must look like one, names, addresses and hours exist in both languages. Pages
that tell people to call or visit someone show the contact from here, never a literal.
"""

from __future__ import annotations

import os
import re
import tomllib
from functools import lru_cache
from pathlib import Path

import msgspec

from accounts.departments import Department

CONTACTS_FILE = Path(__file__).parent / "data" / "contacts.toml"
PHONE = re.compile(r"^\+?[0-9][0-9 -]{5,18}[0-9]$")


class ContactError(ValueError):
    """The contacts file is missing an entry or has a malformed one."""


class Contact(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name_zh: str
    name_en: str
    phone: str
    address_zh: str
    address_en: str
    hours_zh: str
    hours_en: str

    @property
    def tel(self) -> str:
        """The number for a ``tel:`` link (digits and a leading +)."""
        return re.sub(r"[^0-9+]", "", self.phone)


class Contacts(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    service_desk: Contact
    departments: dict[str, Contact]
    courts: dict[str, Contact] = {}

    def department(self, department: str) -> Contact:
        return self.departments[Department(department).value]

    def court(self, name: str | None) -> Contact:
        """A court's enforcement office by the court's name; the default court's office otherwise."""
        if name and name in self.courts:
            return self.courts[name]
        return self.departments[Department.court.value]

    def for_step(self, department: str, court: str | None = None) -> Contact:
        """Who to contact about a step: the transfer's court for court steps, else the department."""
        return self.court(court) if department == Department.court.value else self.department(department)


def load_contacts(path: Path | None = None) -> Contacts:
    path = path or Path(os.environ.get("CONTACTS_FILE") or CONTACTS_FILE)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        parsed = msgspec.convert(raw, Contacts)
    except (OSError, tomllib.TOMLDecodeError, msgspec.ValidationError) as exc:
        raise ContactError(f"{path.name}: {exc}") from None
    missing = sorted(d.value for d in Department if d.value not in parsed.departments)
    unknown = sorted(set(parsed.departments) - {d.value for d in Department})
    if missing or unknown:
        raise ContactError(f"{path.name}: departments missing {missing}, unknown {unknown}")
    entries = {"service_desk": parsed.service_desk, **{f"departments.{k}": v for k, v in parsed.departments.items()},
               **{f"courts.{k}": v for k, v in parsed.courts.items()}}
    for where, contact in entries.items():
        if not PHONE.match(contact.phone):
            raise ContactError(f"{path.name}: {where}.phone {contact.phone!r} does not look like a phone number")
        empty = [f for f in Contact.__struct_fields__ if f != "phone" and not str(getattr(contact, f)).strip()]
        if empty:
            raise ContactError(f"{path.name}: {where} has empty {', '.join(empty)}")
    return parsed


@lru_cache(maxsize=1)
def contacts() -> Contacts:
    return load_contacts()


__all__ = ["CONTACTS_FILE", "Contact", "ContactError", "Contacts", "contacts", "load_contacts"]
