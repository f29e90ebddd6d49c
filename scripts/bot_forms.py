"""Write the assistant's fallback copy of the form schemas from what the portal serves.

The assistant reads ``GET /api/v1/forms/{kind}`` while the portal is up; when it is not, it
falls back on ``bot/actions/forms_snapshot.json``. This writes that file from the same
functions the two endpoints answer with (``GET /api/v1/forms`` and, for each kind, the
schema an anonymous caller gets), so the copy is generated, never edited by hand;
``tests/backoffice/test_bot_forms_contract.py`` fails when it differs from what the portal
serves over HTTP.

    .venv/bin/python scripts/bot_forms.py            # or: make bot-forms
    .venv/bin/python scripts/bot_forms.py --check    # exit 1 if the file is out of date
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import msgspec

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = ROOT / "bot" / "actions" / "forms_snapshot.json"


def snapshot() -> dict[str, Any]:
    """``{"forms": <GET /api/v1/forms>, "schemas": {kind: <GET /api/v1/forms/{kind}>}}``, as JSON values."""
    import portal.form_wiring  # noqa: F401 - the domains' form kinds, registered as the portal does
    from backoffice import forms
    from backoffice.controllers.api import form_summaries

    listed = msgspec.to_builtins(form_summaries())
    schemas = {entry["kind"]: msgspec.to_builtins(forms.form_spec(entry["kind"], identified=False)) for entry in listed}
    return {"forms": listed, "schemas": schemas}


def render(data: dict[str, Any]) -> bytes:
    return msgspec.json.format(msgspec.json.encode(data), indent=2) + b"\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when the file is out of date")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    wanted = render(snapshot())
    current = SNAPSHOT.read_bytes() if SNAPSHOT.exists() else b""
    if args.check:
        if current != wanted:
            print(f"{SNAPSHOT.relative_to(ROOT)} is out of date: run `make bot-forms`", file=sys.stderr)
            return 1
        print(f"{SNAPSHOT.relative_to(ROOT)} matches the portal")
        return 0
    if current != wanted:
        SNAPSHOT.write_bytes(wanted)
        print(f"wrote {SNAPSHOT.relative_to(ROOT)}")
    else:
        print(f"{SNAPSHOT.relative_to(ROOT)} already up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
