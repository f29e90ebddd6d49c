"""HTTP: downloads checked against the person asking, uploads through MultipartBody (JSON, htmx, plain form)."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from litestar import Litestar, Request
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig
from litestar.testing import AsyncTestClient
from litestar.types import ASGIApp, Receive, Scope, Send
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from documents import (
    AccessDenied,
    Document,
    DocumentStore,
    Subject,
    SubjectType,
    kind_choices,
    upload,
    wait_for_cleanups,
)
from documents.routes import MAX_UPLOAD_REQUEST_BYTES, DocumentController, viewer_hooks
from portal.i18n import current_lang
from portal.templating import build_environment
from storage.objects.local import LocalDocumentStore
from storage.objects.s3 import MinioDocumentStore
from tests.storage.conftest import ELF, PDF, PEOPLE, People, closed_port_store, image_bytes, stored_keys

TRANSFER = Subject(SubjectType.transfer, 100)
LOT = Subject(SubjectType.lot, 42)
USERS = {name: p for name, p in vars(PEOPLE).items()}


def fake_auth(app: ASGIApp) -> ASGIApp:
    """Stands in for the portal's session middleware: ``x-test-user`` names the person."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers", ()))
        who = headers.get(b"x-test-user", b"").decode()
        lang = headers.get(b"x-test-lang", b"zh").decode()
        scope["user"] = USERS.get(who)
        scope.setdefault("state", {})["lang"] = lang
        token = current_lang.set(lang)
        try:
            await app(scope, receive, send)
        finally:
            current_lang.reset(token)

    return middleware


def build_app(store: DocumentStore, sessionmaker: async_sessionmaker[AsyncSession]) -> Litestar:
    # The test client runs the app on its own event loop: give it connections of its own
    # (asyncpg connections belong to the loop that opened them).
    bind = sessionmaker.kw["bind"]
    app_engine = create_async_engine(bind.url.render_as_string(hide_password=False), poolclass=NullPool)
    app_sessions = async_sessionmaker(app_engine, expire_on_commit=False)

    async def provide_db_session() -> AsyncIterator[AsyncSession]:
        async with app_sessions() as session:
            yield session

    async def dispose() -> None:
        await app_engine.dispose()

    return Litestar(
        route_handlers=[DocumentController],
        middleware=[DefineMiddleware(fake_auth)],
        dependencies={"db_session": Provide(provide_db_session)},
        template_config=TemplateConfig(instance=JinjaTemplateEngine.from_environment(build_environment())),
        csrf_config=CSRFConfig(secret="test-csrf-secret-" + "x" * 32, header_name="x-csrftoken"),
        state=State({"document_store": store}),
        on_shutdown=[dispose],
        debug=True,  # a 500 shows its traceback in the failing assertion
    )


@pytest.fixture
async def client(
    service_store: DocumentStore, sessionmaker: async_sessionmaker[AsyncSession], people: People
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=build_app(service_store, sessionmaker)) as c:
        yield c


async def csrf_token(client: AsyncTestClient[Litestar]) -> str:
    await client.get("/documents/", params={"subject_type": "lot", "subject_id": 1})
    token = client.cookies.get("csrftoken")
    assert token
    return token


async def seed(
    sessionmaker: async_sessionmaker[AsyncSession],
    store: DocumentStore,
    principal: Any,
    subject: Subject,
    kind: str,
    name: str,
    data: bytes,
    visibility: str = "owner",
    department: str | None = None,
    **kwargs: Any,
) -> Document:
    async with sessionmaker() as session:
        doc = await upload(session, store, principal, subject, kind, name, data, visibility, department, **kwargs)
        await session.commit()
    return doc


async def rows(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(Document)) or 0)


def as_user(name: str | None, **extra: str) -> dict[str, str]:
    return {"x-test-user": name or "", **extra}


async def download(
    client: AsyncTestClient[Litestar], url: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    """GET through the portal; a presigned redirect is followed over the network to the S3 server
    (the test client itself only reaches the ASGI app)."""
    resp = await client.get(url, headers=headers or {}, follow_redirects=False)
    if resp.status_code != 302:
        return resp
    async with httpx.AsyncClient() as direct:
        return await direct.get(resp.headers["location"])


# --- downloads ----------------------------------------------------------------------------------


async def test_owner_downloads_a_ruling(
    client: AsyncTestClient[Litestar], service_store: DocumentStore, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    name = "成交裁定书（2025）浙0681执1234号.pdf"
    doc = await seed(
        sessionmaker, service_store, PEOPLE.court, TRANSFER, "sale_ruling", name, PDF
    )
    resp = await client.get(f"/documents/{doc.id}", headers=as_user("buyer"), follow_redirects=False)

    if isinstance(service_store, LocalDocumentStore):
        assert resp.status_code == 200
        assert resp.content == PDF
        assert resp.headers["content-type"].startswith("application/pdf")
        assert resp.headers["content-length"] == str(len(PDF))
        served = resp.headers
    else:
        assert isinstance(service_store, MinioDocumentStore)
        assert resp.status_code == 302
        assert resp.headers["cache-control"] == "private, no-store"
        location = resp.headers["location"]
        assert location.startswith(f"http://{service_store.endpoint}/{service_store.bucket}/")
        assert "X-Amz-Expires=300" in location  # five minutes
        assert doc.storage_key in location and name not in location
        async with httpx.AsyncClient() as direct:
            fetched = await direct.get(location)
        assert fetched.status_code == 200 and fetched.content == PDF
        assert fetched.headers["content-type"] == "application/pdf"
        served = fetched.headers
    disposition = served["content-disposition"]
    assert disposition.startswith("attachment; filename=")
    assert f"filename*=UTF-8''{quote(name, safe='')}" in disposition
    assert served["cache-control"] == "private, no-store"
    if isinstance(service_store, LocalDocumentStore):
        assert served["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("who", [None, "other_buyer", "creditor", "tax"])
async def test_people_who_may_not_see_it_get_not_found(
    client: AsyncTestClient[Litestar],
    service_store: DocumentStore,
    sessionmaker: async_sessionmaker[AsyncSession],
    who: str | None,
) -> None:
    doc = await seed(sessionmaker, service_store, PEOPLE.buyer, TRANSFER, "evidence", "证据.pdf", PDF, "owner", "court")
    resp = await client.get(f"/documents/{doc.id}", headers=as_user(who), follow_redirects=False)
    missing = await client.get("/documents/999999", headers=as_user(who), follow_redirects=False)
    assert resp.status_code == missing.status_code == 404
    assert resp.json() == missing.json()  # the same answer: ids are no oracle
    assert "location" not in resp.headers and PDF not in resp.content
    for allowed in ("buyer", "court", "admin"):
        ok = await client.get(f"/documents/{doc.id}", headers=as_user(allowed), follow_redirects=False)
        assert ok.status_code in (200, 302), allowed


async def test_department_documents_stay_in_the_department(
    client: AsyncTestClient[Litestar], service_store: DocumentStore, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    doc = await seed(sessionmaker, service_store, PEOPLE.tax, TRANSFER, "other", "核定底稿.pdf", PDF, "department")
    statuses = {
        who: (await client.get(f"/documents/{doc.id}", headers=as_user(who), follow_redirects=False)).status_code
        for who in ("buyer", "court", "tax", "admin")
    }
    assert statuses["buyer"] == statuses["court"] == 404
    assert statuses["tax"] in (200, 302) and statuses["admin"] in (200, 302)


async def test_public_lot_documents_are_cacheable(
    sessionmaker: async_sessionmaker[AsyncSession], people: People, tmp_path: Any
) -> None:
    store = LocalDocumentStore(tmp_path / "docs")
    doc = await seed(sessionmaker, store, PEOPLE.court, LOT, "announcement", "拍卖公告.pdf", PDF, "public")
    async with AsyncTestClient(app=build_app(store, sessionmaker)) as client:
        resp = await client.get(f"/documents/{doc.id}")
        assert resp.status_code == 200 and resp.content == PDF
        assert resp.headers["cache-control"] == "public, max-age=3600"
        assert resp.headers["etag"] == f'"{doc.sha256}"'
        again = await client.get(f"/documents/{doc.id}", headers={"if-none-match": resp.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
    # A transfer is not public by nature: nothing on it may be published.
    with pytest.raises(AccessDenied):
        await seed(sessionmaker, store, PEOPLE.court, TRANSFER, "assistance_notice", "通知.pdf", PDF, "public")


async def test_presigned_public_links_carry_cache_control(
    sessionmaker: async_sessionmaker[AsyncSession], people: People, moto_server: Any
) -> None:
    store = moto_server.store()
    doc = await seed(sessionmaker, store, PEOPLE.court, LOT, "announcement", "公告.pdf", PDF, "public")
    async with AsyncTestClient(app=build_app(store, sessionmaker)) as client:
        resp = await client.get(f"/documents/{doc.id}", follow_redirects=False)
    assert resp.status_code == 302 and resp.headers["cache-control"] == "private, no-store"
    async with httpx.AsyncClient() as direct:
        fetched = await direct.get(resp.headers["location"])
    assert fetched.headers["cache-control"] == "public, max-age=3600"


async def test_thumbnails(
    client: AsyncTestClient[Litestar], service_store: DocumentStore, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    photo = await seed(sessionmaker, service_store, PEOPLE.court, LOT, "lot_photo", "外观.png", image_bytes(), "public")
    pdf = await seed(sessionmaker, service_store, PEOPLE.court, LOT, "announcement", "公告.pdf", PDF, "public")
    resp = await download(client, f"/documents/{photo.id}/thumbnail")
    assert resp.status_code == 200 and resp.content.startswith(b"\xff\xd8\xff")
    assert resp.headers["content-type"] == "image/jpeg"
    assert "filename*=UTF-8''" + quote("外观-thumbnail.jpg") in resp.headers["content-disposition"]
    assert (await client.get(f"/documents/{pdf.id}/thumbnail")).status_code == 404


async def test_row_without_object_is_not_found_and_logged(
    sessionmaker: async_sessionmaker[AsyncSession], people: People, tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    store = LocalDocumentStore(tmp_path / "docs")
    doc = await seed(sessionmaker, store, PEOPLE.buyer, TRANSFER, "evidence", "a.pdf", PDF, "owner")
    await store.delete(doc.storage_key)
    logger = logging.getLogger("documents.routes")  # the app's logging config may stop propagation
    logger.addHandler(caplog.handler)
    try:
        async with AsyncTestClient(app=build_app(store, sessionmaker)) as client:
            resp = await client.get(f"/documents/{doc.id}", headers=as_user("buyer"))
    finally:
        logger.removeHandler(caplog.handler)
    assert resp.status_code == 404
    assert "has a row but no object" in caplog.text


async def test_viewer_hooks_admit_holders_of_a_tracking_grant(
    client: AsyncTestClient[Litestar], service_store: DocumentStore, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    ruling = await seed(
        sessionmaker, service_store, PEOPLE.court, TRANSFER, "sale_ruling", "r.pdf", PDF
    )
    internal = await seed(sessionmaker, service_store, PEOPLE.court, TRANSFER, "other", "i.pdf", PDF, "department")

    async def grant_cookie(request: Request[Any, Any, Any], session: AsyncSession, document: Document) -> bool:
        return request.cookies.get("test_grant") == str(document.subject_id)

    viewer_hooks.register("transfer", grant_cookie)
    try:
        assert (await client.get(f"/documents/{ruling.id}", follow_redirects=False)).status_code == 404
        client.cookies.set("test_grant", "100")
        assert (await client.get(f"/documents/{ruling.id}", follow_redirects=False)).status_code in (200, 302)
        # Department documents are never opened by a hook.
        assert (await client.get(f"/documents/{internal.id}", follow_redirects=False)).status_code == 404
    finally:
        viewer_hooks.clear()


# --- uploads ------------------------------------------------------------------------------------


def form(**fields: str) -> dict[str, str]:
    base = {"kind": "evidence", "subject_type": "transfer", "subject_id": "100", "department": "court"}
    base.update(fields)
    return base


async def test_upload_json(
    client: AsyncTestClient[Litestar], service_store: DocumentStore, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    token = await csrf_token(client)
    resp = await client.post(
        "/documents",
        data=form(),
        files={"file": ("../../房产证据.pdf", PDF, "application/octet-stream")},
        headers=as_user("buyer", **{"x-csrftoken": token}),
    )
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["name"] == "房产证据.pdf" and body["size"] == len(PDF)
    assert body["content_type"] == "application/pdf"  # from the bytes, not the browser's claim
    assert body["download_url"] == f"/documents/{body['id']}"
    assert "storage_key" not in body
    assert len(await stored_keys(service_store)) == 1
    # and the uploader can fetch it back
    fetched = await download(client, body["download_url"], as_user("buyer"))
    assert fetched.status_code == 200 and fetched.content == PDF


async def test_upload_htmx_fragment(client: AsyncTestClient[Litestar]) -> None:
    token = await csrf_token(client)
    resp = await client.post(
        "/documents",
        data=form(),
        files={"file": ("合同.pdf", PDF, "application/pdf")},
        headers=as_user("buyer", **{"x-csrftoken": token, "hx-request": "true"}),
    )
    assert resp.status_code == 201, resp.text
    assert resp.headers["hx-trigger"] == "document-uploaded"
    assert "已上传" in resp.text and "合同.pdf" in resp.text
    assert re.search(r'href="/documents/\d+"', resp.text)


async def test_upload_plain_form_redirects_back(
    client: AsyncTestClient[Litestar], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    token = await csrf_token(client)
    resp = await client.post(
        "/documents",
        data=form(next="/track/ZT0000000001?tab=docs", _csrf_token=token),  # the token as a form field
        files={"file": ("a.pdf", PDF, "application/pdf")},
        headers=as_user("buyer"),
        follow_redirects=False,
    )
    assert resp.status_code == 303
    assert resp.headers["location"] == "/track/ZT0000000001?tab=docs"
    assert await rows(sessionmaker) == 1


@pytest.mark.parametrize(
    "evil", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"]
)
async def test_next_never_leaves_the_site(client: AsyncTestClient[Litestar], evil: str) -> None:
    token = await csrf_token(client)
    resp = await client.post(
        "/documents",
        data=form(next=evil),
        files={"file": ("a.pdf", PDF, "application/pdf")},
        headers=as_user("buyer", **{"x-csrftoken": token}),
        follow_redirects=False,
    )
    assert resp.status_code == 201 and "location" not in resp.headers


async def test_upload_refusals_explain_what_to_fix(
    client: AsyncTestClient[Litestar], service_store: DocumentStore, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    token = await csrf_token(client)
    headers = as_user("buyer", **{"x-csrftoken": token})

    async def post(name: str, data: bytes, extra: dict[str, str] | None = None, **fields: str) -> httpx.Response:
        return await client.post(
            "/documents",
            data=form(**fields),
            files={"file": (name, data, "application/pdf")},
            headers={**headers, **(extra or {})},
        )

    png_as_pdf = await post("合同.pdf", image_bytes())
    assert png_as_pdf.status_code == 415 and png_as_pdf.json()["code"] == "extension_mismatch"
    assert ".png" in png_as_pdf.json()["message"]  # default language is Chinese
    assert "后缀" in png_as_pdf.json()["message"]

    elf = await post("判决书.pdf", ELF, {"x-test-lang": "en"})
    assert elf.status_code == 415 and "Linux executable" in elf.json()["message"]

    empty = await post("a.pdf", b"")
    assert empty.status_code == 400 and empty.json()["code"] == "empty_file"

    wrong_kind = await post("a.pdf", PDF, kind="sale_ruling")
    assert wrong_kind.status_code == 400 and wrong_kind.json()["code"] == "invalid_upload"

    not_mine = await post("a.pdf", PDF, subject_id="200")
    assert not_mine.status_code == 403

    # What a browser sends when no file was chosen: a file part with an empty name.
    no_file = await client.post(
        "/documents", data=form(), files={"file": ("", b"", "application/octet-stream")}, headers=headers
    )
    assert no_file.status_code == 400 and "选择" in no_file.json()["message"]

    htmx = await post("a.png.pdf", image_bytes(), {"hx-request": "true", "x-test-lang": "en"})
    assert htmx.status_code == 415
    assert '<p class="error" role="alert">' in htmx.text and "Rename it to end in .png" in htmx.text

    page = await post("a.pdf", ELF, next="/track/ZT0000000001")
    assert page.status_code == 415 and page.headers["content-type"].startswith("text/html")
    assert "<!doctype html>" in page.text.lower() and 'href="/track/ZT0000000001"' in page.text

    assert await rows(sessionmaker) == 0
    assert await stored_keys(service_store) == set()


async def test_anonymous_upload_is_refused(client: AsyncTestClient[Litestar]) -> None:
    token = await csrf_token(client)
    resp = await client.post(
        "/documents", data=form(), files={"file": ("a.pdf", PDF, "application/pdf")}, headers={"x-csrftoken": token}
    )
    assert resp.status_code == 403 and "登录" in resp.json()["message"]


async def test_upload_without_csrf_token_is_refused(client: AsyncTestClient[Litestar]) -> None:
    resp = await client.post(
        "/documents", data=form(), files={"file": ("a.pdf", PDF, "application/pdf")}, headers=as_user("buyer")
    )
    assert resp.status_code == 403


async def test_upload_when_the_store_is_down(sessionmaker: async_sessionmaker[AsyncSession], people: People) -> None:
    async with AsyncTestClient(app=build_app(closed_port_store(), sessionmaker)) as client:
        token = await csrf_token(client)
        resp = await client.post(
            "/documents",
            data=form(),
            files={"file": ("a.pdf", PDF, "application/pdf")},
            headers=as_user("buyer", **{"x-csrftoken": token, "x-test-lang": "en"}),
        )
        htmx = await client.post(
            "/documents",
            data=form(),
            files={"file": ("a.pdf", PDF, "application/pdf")},
            headers=as_user("buyer", **{"x-csrftoken": token, "hx-request": "true"}),
        )
    assert resp.status_code == 503 and "try again" in resp.json()["message"]
    assert "127.0.0.1" not in resp.text  # operator details stay in the log
    assert htmx.status_code == 503 and "再试" in htmx.text
    assert await rows(sessionmaker) == 0


async def test_request_body_over_the_limit_is_refused(client: AsyncTestClient[Litestar]) -> None:
    token = await csrf_token(client)
    resp = await client.post(
        "/documents",
        data=form(),
        files={"file": ("big.pdf", PDF + b"0" * MAX_UPLOAD_REQUEST_BYTES, "application/pdf")},
        headers=as_user("buyer", **{"x-csrftoken": token}),
    )
    assert resp.status_code == 413


# --- listing and deletion -----------------------------------------------------------------------


async def test_listing_and_deleting(
    client: AsyncTestClient[Litestar], service_store: DocumentStore, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    mine = await seed(
        sessionmaker, service_store, PEOPLE.buyer, TRANSFER, "evidence", "我的证据.pdf", PDF, "owner", "court"
    )
    await seed(sessionmaker, service_store, PEOPLE.court, TRANSFER, "other", "内部.pdf", PDF, "department")
    params = {"subject_type": "transfer", "subject_id": "100"}

    as_buyer = await client.get("/documents/", params=params, headers=as_user("buyer"))
    assert [d["name"] for d in as_buyer.json()["documents"]] == ["我的证据.pdf"]
    as_court = await client.get("/documents/", params=params, headers=as_user("court"))
    assert len(as_court.json()["documents"]) == 2
    assert (await client.get("/documents/", params=params)).json() == {"documents": []}

    fragment = await client.get("/documents/", params=params, headers=as_user("buyer", **{"hx-request": "true"}))
    assert "我的证据.pdf" in fragment.text and "内部.pdf" not in fragment.text
    assert f'hx-post="/documents/{mine.id}/delete"' in fragment.text

    token = await csrf_token(client)
    refused = await client.post(
        f"/documents/{mine.id}/delete", headers=as_user("other_buyer", **{"x-csrftoken": token})
    )
    assert refused.status_code == 404
    deleted = await client.post(
        f"/documents/{mine.id}/delete", headers=as_user("buyer", **{"x-csrftoken": token, "hx-request": "true"})
    )
    assert deleted.status_code == 200 and deleted.headers["hx-trigger"] == "document-deleted"
    await wait_for_cleanups()
    assert await rows(sessionmaker) == 1
    assert mine.storage_key not in await stored_keys(service_store)
    assert (await client.get(f"/documents/{mine.id}", headers=as_user("buyer"))).status_code == 404


async def test_bad_subject_in_listing(client: AsyncTestClient[Litestar]) -> None:
    resp = await client.get("/documents/", params={"subject_type": "bank", "subject_id": "1"})
    assert resp.status_code == 400 and resp.json()["code"] == "invalid_upload"


async def test_plain_form_delete_redirects_back(
    client: AsyncTestClient[Litestar], service_store: DocumentStore, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    doc = await seed(sessionmaker, service_store, PEOPLE.buyer, TRANSFER, "evidence", "a.pdf", PDF, "owner", "court")
    token = await csrf_token(client)
    resp = await client.post(
        f"/documents/{doc.id}/delete",
        params={"next": "/track/ZT0000000001"},
        data={"_csrf_token": token},
        headers=as_user("court"),
        follow_redirects=False,
    )
    assert resp.status_code == 303 and resp.headers["location"] == "/track/ZT0000000001"
    assert await rows(sessionmaker) == 0


# --- templates ------------------------------------------------------------------------------------


def test_upload_widget_works_with_and_without_javascript() -> None:
    env = build_environment()
    page = env.from_string(
        '{% from "documents/macros.html" import upload_widget with context %}'
        '{{ upload_widget("work_item", 9, kinds=kinds, department="court", next="/my/items/9") }}'
    )
    token = current_lang.set("zh")
    try:
        html = page.render(
            kinds=kind_choices(["evidence", "other"], "zh"), csrf_input='<input name="_csrf_token" value="T">'
        )
    finally:
        current_lang.reset(token)
    # a plain multipart form that posts and comes back…
    assert 'action="/documents" method="post" enctype="multipart/form-data"' in html
    assert '<input type="file" name="file" required' in html
    assert 'name="_csrf_token"' in html and 'name="next" value="/my/items/9"' in html
    assert 'name="subject_type" value="work_item"' in html and 'name="department" value="court"' in html
    # …that htmx sends in the background with a progress bar
    assert 'hx-post="/documents" hx-encoding="multipart/form-data"' in html
    assert '<progress class="doc-upload-progress"' in html
    assert 'src="/static/documents/upload.js"' in html
    assert "证据材料（≤ 20 MB）" in html and "其他材料" in html


def test_upload_script_fills_the_progress_bar() -> None:
    from portal.settings import ROOT

    script = (ROOT / "portal" / "static" / "documents" / "upload.js").read_text()
    assert "htmx:xhr:progress" in script and "bar.value" in script
    assert "shouldSwap = true" in script  # refusals (4xx/5xx) are shown, not dropped


async def test_browsers_get_the_sites_error_page(
    client: AsyncTestClient[Litestar], service_store: DocumentStore, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    # Following a link: the app's HTTPException handler renders its page (here Litestar's default).
    resp = await client.get("/documents/424242", headers={"accept": "text/html,application/xhtml+xml"})
    assert resp.status_code == 404
    assert "找不到这个文件" in resp.text
