"""The API page works offline under the portal's CSP; responses are compressed; static files cache."""

from __future__ import annotations

import gzip
import re

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from portal.api_docs import swagger_version
from portal.middleware import SECURITY_HEADERS
from tests.conftest import Factory, login

Client = AsyncTestClient[Litestar]
GLOBAL_CSP = dict(SECURITY_HEADERS)[b"content-security-policy"].decode()

needs_swagger = pytest.mark.skipif(swagger_version() is None, reason="swagger-ui-dist not installed (make assets)")


def _asset_urls(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html)


@needs_swagger
@pytest.mark.parametrize("path", ["/schema", "/schema/swagger"])
async def test_api_page_uses_only_local_assets_that_answer(client: Client, path: str) -> None:
    resp = await client.get(path)
    assert resp.status_code == 200
    html = resp.text
    assert "cdn" not in html.lower() and "https://" not in html and "http://" not in html
    urls = _asset_urls(html)
    assert any(u.endswith("swagger-ui-bundle.js") for u in urls)
    assert any(u.endswith("swagger-ui.css") for u in urls)
    for url in urls:
        assert url.startswith("/"), url
        asset = await client.get(url)
        assert asset.status_code == 200, url
    # no inline script: the CSP's script-src 'self' allows every script on the page
    assert re.findall(r"<script(?![^>]*\ssrc=)[^>]*>", html) == []
    assert "<style" not in html and " style=" not in html
    # the script that starts Swagger UI finds the schema where the page says it is
    spec_url = re.search(r'data-spec-url="([^"]+)"', html)
    assert spec_url is not None
    spec = await client.get(spec_url.group(1))
    assert spec.status_code == 200 and "paths" in spec.json()


@needs_swagger
async def test_api_page_csp_allows_its_assets_and_other_pages_keep_the_global_csp(client: Client) -> None:
    page = await client.get("/schema/swagger")
    csp = page.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";") if d.strip())
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert "connect-src" in directives and "'self'" in directives["connect-src"]
    for other in ("/", "/track", "/static/portal.css", "/schema/openapi.json"):
        resp = await client.get(other)
        assert resp.headers["content-security-policy"] == GLOBAL_CSP, other


@needs_swagger
@pytest.mark.parametrize(("lang", "expected"), [("zh", "zh-CN"), ("en", "en")])
async def test_api_page_names_its_language(client: Client, lang: str, expected: str) -> None:
    resp = await client.get(f"/schema/swagger?lang={lang}")
    assert f'<html lang="{expected}">' in resp.text


async def test_static_files_are_cacheable_and_pages_are_not(client: Client) -> None:
    css = await client.get("/static/portal.css")
    assert css.status_code == 200
    assert set(css.headers["cache-control"].split(", ")) == {"public", "max-age=3600"}
    htmx = await client.get("/vendor/htmx/htmx.min.js")
    assert htmx.status_code == 200
    assert "public" in htmx.headers["cache-control"] and "max-age=" in htmx.headers["cache-control"]
    page = await client.get("/")
    assert page.headers["cache-control"] == "no-store"


@needs_swagger
async def test_versioned_vendor_files_are_immutable(client: Client) -> None:
    resp = await client.get(f"/vendor/swagger-ui/{swagger_version()}/swagger-ui.css")
    assert resp.status_code == 200
    assert "immutable" in resp.headers["cache-control"]
    assert "max-age=31536000" in resp.headers["cache-control"]


async def test_pages_and_assets_are_gzipped_for_clients_that_accept_it(client: Client) -> None:
    for url in ("/", "/static/portal.css", "/vendor/htmx/htmx.min.js", "/schema/openapi.json"):
        resp = await client.get(url, headers={"Accept-Encoding": "gzip"})
        assert resp.status_code == 200, url
        assert resp.headers.get("content-encoding") == "gzip", url
        assert "accept-encoding" in resp.headers.get("vary", "").lower(), url
        # httpx decodes the body: what arrives is the real page, not compressed bytes
        assert len(resp.content) > 500


async def test_raw_bytes_on_the_wire_are_smaller(client: Client) -> None:
    async with client.stream("GET", "/static/portal.css", headers={"Accept-Encoding": "gzip"}) as resp:
        raw = b"".join([chunk async for chunk in resp.aiter_raw()])
    plain = (await client.get("/static/portal.css", headers={"Accept-Encoding": "identity"})).content
    assert len(raw) < len(plain) / 2
    assert gzip.decompress(raw) == plain


async def test_small_answers_and_clients_without_gzip_are_left_alone(client: Client) -> None:
    plain = await client.get("/", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    small = await client.get("/healthz", headers={"Accept-Encoding": "gzip"})
    assert len(small.content) < 500 and "content-encoding" not in small.headers


async def test_document_downloads_are_not_recompressed(client: Client, factory: Factory) -> None:
    staff = await factory.user("staff", "court")
    await login(client, staff.email)
    # whatever a download answers (here: not found), the compression middleware stays out of it
    resp = await client.get("/documents/999999", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in resp.headers
