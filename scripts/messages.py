"""Extract UI messages and merge them into the Chinese catalogue, keeping translations.

Usage: .venv/bin/python scripts/messages.py   (or `make messages`)
Prints the msgids that still need a Chinese translation; fill them in
portal/locales/zh_CN/LC_MESSAGES/messages.po (tests fail while any is missing).
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "portal" / "locales" / "zh_CN" / "LC_MESSAGES" / "messages.po"


PACKAGES = ["portal", "kernel", "title_transfer", "backoffice", "auction_listings", "cases", "storage"]
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}


def extract() -> Catalog:
    """Every message the UI can show, from the packages' templates and Python code."""
    catalog = Catalog()
    for package in PACKAGES:
        folder = ROOT / package
        if not folder.exists():
            continue
        for _file, _line, message, _comments, _ctx in extract_from_dir(folder, METHODS, OPTIONS):
            catalog.add(message)
    return catalog


def main() -> int:
    pot = extract()
    with PO.open("rb") as fh:
        old = read_po(fh, locale="zh_CN")
    merged = Catalog(locale="zh_CN", project="yijianshi-portal")
    missing = []
    for msg in pot:
        if not msg.id:
            continue
        prev = old.get(msg.id)
        merged.add(msg.id, prev.string if prev else "")
        if not (prev and prev.string):
            missing.append(msg.id)
    with PO.open("wb") as fh:
        write_po(fh, merged, no_location=True, width=120)
    for m in missing:
        print(f"needs Chinese: {m!r}")
    print(f"{len(missing)} message(s) without a translation")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
