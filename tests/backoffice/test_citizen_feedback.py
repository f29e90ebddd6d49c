"""A citizen is told what happened and what comes next; a correction may ask for a document."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.models import parse_reference
from portal.demo_documents import one_page_pdf
from tests.backoffice.helpers import Client, form_value, post, ref_from, sign_in
from tests.conftest import Factory, csrf

SUPPLEMENT = {"department": "registry", "reference": "ZT2026000001", "description": "补充身份证复印件。",
              "contact_phone": "13812345678"}


async def _submit(client: Client) -> str:
    form = await client.get("/my/submissions/new/document_supplement")
    sent = await post(client, "/my/submissions/new/document_supplement",
                      {**SUPPLEMENT, "_key": form_value(form.text, "/my/submissions/new/document_supplement", "_key")})
    assert sent.status_code == 303
    return ref_from(sent.headers["location"])


async def _staff_does(client: Client, ref: str, action: str, data: dict[str, object]) -> None:
    page = (await client.get(f"/staff/items/{ref}")).text
    if f"{ref}/claim" in page:
        await post(client, f"/staff/items/{ref}/claim", {"version": form_value(page, f"{ref}/claim", "version")})
        page = (await client.get(f"/staff/items/{ref}")).text
    resp = await post(client, f"/staff/items/{ref}/{action}",
                      {"version": form_value(page, f"{ref}/{action}", "version"), "confirm": "yes", **data})
    assert resp.status_code == 303, resp.text  # (final actions carry the staff page's ticked confirmation)


async def test_the_confirmation_says_who_has_it_by_when_and_where_the_sms_goes(client: Client, factory: Factory) -> None:
    citizen = await factory.user("buyer")
    await sign_in(client, citizen)
    ref = await _submit(client)
    page = (await client.get(f"/my/submissions/{ref}?sent=1")).text
    feedback = page.split('class="ok feedback"', 1)[1].split("</div>", 1)[0]
    assert ref in feedback and "不动产登记中心" in feedback and "前答复" in feedback
    assert "确认短信将发送至 138****5678" in feedback and "13812345678" not in feedback
    en = (await client.get(f"/my/submissions/{ref}?sent=1&lang=en")).text
    assert "An SMS confirming it will follow to 138****5678." in en


async def test_a_message_and_a_dispute_say_what_comes_next(client: Client, factory: Factory) -> None:
    citizen = await factory.user("buyer")
    await sign_in(client, citizen)
    ref = await _submit(client)
    page = (await client.get(f"/my/submissions/{ref}")).text
    resp = await post(client, f"/my/submissions/{ref}/reply",
                      {"_body": "请问进度如何?", "_version": form_value(page, f"{ref}/reply", "_version")})
    assert resp.status_code == 303
    done = (await client.get(resp.headers["location"] + "&lang=en")).text
    assert "Your message was added to " + ref in done and "Next: they answer here by" in done
    assert "138****5678" in done and "Saved." not in done

    registry = await factory.user("staff", "registry")
    await sign_in(client, registry)
    await _staff_does(client, ref, "reject", {"reason": "不属于本中心受理范围。"})
    await sign_in(client, citizen)
    resp = await post(client, f"/my/submissions/{ref}/dispute", {"_reason": "我认为属于。"})
    done = (await client.get(resp.headers["location"])).text
    assert "您的异议已使 " + ref in done and "下一步:他们将于" in done


async def test_a_correction_asking_for_a_document_offers_an_upload_and_waits_for_it(
        client: Client, factory: Factory, session: AsyncSession) -> None:
    citizen = await factory.user("buyer")
    await sign_in(client, citizen)
    ref = await _submit(client)
    registry = await factory.user("staff", "registry")
    await sign_in(client, registry)
    staff_page = (await client.get(f"/staff/items/{ref}")).text
    assert 'value="_document"' in staff_page or "claim" in staff_page
    await _staff_does(client, ref, "correction", {"body": "请上传身份证复印件。", "fields": ["_document"]})

    await sign_in(client, citizen)
    page = (await client.get(f"/my/submissions/{ref}")).text
    asked = page.split('id="asked"', 1)[1].split("</section>", 1)[0]
    assert 'id="doc-upload-answer"' in asked and 'type="file"' in asked
    assert "一份文件(请上传)" in page  # the thread names what was asked
    version = form_value(page, f"{ref}/answer", "_version")
    refused = await post(client, f"/my/submissions/{ref}/answer", {"_body": "", "_version": version})
    assert refused.status_code == 400 and "请先上传部门要求的文件" in refused.text

    # An htmx upload answers with the new document for the page's list (no "no documents" until reload).
    assert f'id="doc-list-work_item-{parse_reference(ref)}"' in page
    uploaded = await client.post(
        "/documents", headers={"HX-Request": "true", "x-csrftoken": csrf(client)},
        data={"subject_type": "work_item", "subject_id": str(parse_reference(ref)), "kind": "id_copy",
              "visibility": "owner", "department": "registry"},
        files={"file": ("id.pdf", one_page_pdf(["ID copy (demo)"]), "application/pdf")})
    assert uploaded.status_code in (200, 201), uploaded.text
    assert f'hx-swap-oob="beforeend:#doc-list-work_item-{parse_reference(ref)}"' in uploaded.text
    assert ">id.pdf</a>" in uploaded.text

    answered = await post(client, f"/my/submissions/{ref}/answer", {"_body": "已上传。", "_version": version})
    assert answered.status_code == 303
    done = (await client.get(answered.headers["location"])).text
    assert "您的补正已发送给不动产登记中心" in done
