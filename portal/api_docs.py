"""The API documentation page (``/schema``), served entirely from the portal.

Litestar's Swagger plugin loads Swagger UI from a CDN and starts it with an inline script; the
portal's CSP (``script-src 'self'``) blocks both, and an offline machine cannot reach the CDN.
Here Swagger UI comes from ``node_modules/swagger-ui-dist`` (installed from the npm registry at
set-up, pinned by package-lock.json) under a URL that carries its version, and the page starts it
with ``/static/api-docs.js``, which reads the schema's URL from a data attribute: the page needs
nothing the global CSP does not already allow.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from litestar import Request
from litestar.datastructures import CacheControlHeader
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.router import Router
from litestar.static_files import create_static_files_router

from kernel.deps import request_lang
from portal.settings import ROOT
from portal.static_fs import StaticFileSystem

SWAGGER_DIR = ROOT / "node_modules" / "swagger-ui-dist"
INIT_SCRIPT_URL = "/static/api-docs.js"


def swagger_version() -> str | None:
    """The installed swagger-ui-dist's version, or None when the assets are not installed."""
    try:
        return str(json.loads((SWAGGER_DIR / "package.json").read_text(encoding="utf-8"))["version"])
    except (OSError, ValueError, KeyError):
        return None


def swagger_prefix(version: str) -> str:
    # The version is part of the URL, so the files can be cached for good (see swagger_router).
    return f"/vendor/swagger-ui/{version}"


def swagger_router(version: str) -> Router:
    return create_static_files_router(
        path=swagger_prefix(version), directories=[SWAGGER_DIR], name="vendor-swagger-ui", include_in_schema=False,
        file_system=StaticFileSystem(),
        cache_control=CacheControlHeader(public=True, max_age=31536000, immutable=True),
    )


class LocalSwaggerRenderPlugin(SwaggerRenderPlugin):
    """Swagger UI from the portal's own files, started by a script file, in the reader's language."""

    def __init__(self, version: str, **kwargs: Any) -> None:
        prefix = swagger_prefix(version)
        super().__init__(
            version=version, js_url=f"{prefix}/swagger-ui-bundle.js", css_url=f"{prefix}/swagger-ui.css",
            standalone_preset_js_url=f"{prefix}/swagger-ui-standalone-preset.js", favicon="", style="", **kwargs,
        )

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        lang = "zh-CN" if request_lang(request) == "zh" else "en"
        config = request.app.openapi_config
        schema_root = ((config.path if config is not None else None) or "/schema").rstrip("/")
        title = escape(str(openapi_schema.get("info", {}).get("title", "API")))
        return (
            "<!DOCTYPE html>"
            f'<html lang="{lang}"><head><meta charset="utf-8">'
            f"<title>{title}</title>"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<link rel="stylesheet" href="{escape(self.css_url)}">'
            '<link rel="stylesheet" href="/static/api-docs.css">'
            f'<script src="{escape(self.js_url)}" defer></script>'
            f'<script src="{INIT_SCRIPT_URL}" defer></script>'
            "</head><body>"
            f'<main id="swagger-container" data-spec-url="{escape(schema_root)}/openapi.json"></main>'
            "</body></html>"
        ).encode()
