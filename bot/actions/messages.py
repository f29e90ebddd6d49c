"""Texts the actions compose at run time, in Chinese and English.

Static answers are responses in domain/; these are the ones that carry data
(references, step lists, field errors). ``t(key, lang, **values)`` formats one.
"""
from __future__ import annotations

import re
from typing import Any

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]{2,}")
_PAIR_SEP = re.compile(r"\s+[/／|]\s+|\s*／\s*")

CATALOGUE: dict[str, dict[str, str]] = {
    # ---- forms ----
    "form_intro": {
        "zh": "好的，我来帮您办理“{title}”。接下来问您几个问题；随时可以问“这是什么意思”，或说“算了”停止（不会提交任何内容）。",
        "en": "OK, let's do the “{title}”. I'll ask a few questions; you can ask “what does that mean?” at any point, or say “stop” (nothing is submitted).",
    },
    "field_help": {
        "zh": "“{label}”：{help}",
        "en": "“{label}”: {help}",
    },
    "field_help_missing": {
        "zh": "“{label}”就是字面意思，按您掌握的情况填写即可。",
        "en": "“{label}” means just that; give what you know.",
    },
    "invalid": {
        "zh": "“{label}”{problem}",
        "en": "“{label}” {problem}",
    },
    "offer_stop": {
        "zh": "好像不太顺利。可以再试一次，也可以说“这是什么意思”看说明，或说“算了”停止。",
        "en": "This doesn't seem to be working. Try once more, ask “what does that mean?”, or say “stop” to leave it.",
    },
    "corrected": {
        "zh": "已把“{label}”改为：{value}",
        "en": "Changed “{label}” to: {value}",
    },
    "confirm_summary": {
        "zh": "请核对“{title}”：\n{lines}\n确认提交吗？如需修改，直接说，例如“电话改成13900000000”。",
        "en": "Please check the “{title}”:\n{lines}\nShall I submit it? To change something just say so, e.g. “the phone is 13900000000”.",
    },
    "noted": {
        "zh": "已记下：{values}",
        "en": "Noted: {values}",
    },
    "correct_which": {
        "zh": "好的，“{label}”要改成什么？",
        "en": "OK — what should the “{label}” be?",
    },
    "back_to_form": {
        "zh": "我们接着刚才的申请：",
        "en": "Back to your request:",
    },
    "status_in_form": {
        "zh": "查进度需要查询号和查询码（或在门户登录）。填完这份申请后说“查进度”即可，或先说“算了”停止这份申请。",
        "en": "To look up the progress I need the tracking number and query code (or you signed in on the portal). Say “check my transfer” when this request is done, or “stop” to leave it.",
    },
    "confirm_unclear": {
        "zh": "请回答“确认”提交，或“取消”不提交。",
        "en": "Please answer “yes” to submit or “no” to cancel.",
    },
    "value_empty": {"zh": "（未填）", "en": "(none)"},
    "value_secret": {"zh": "（已提供）", "en": "(given)"},
    "stopped": {
        "zh": "好的，已停止，没有提交任何内容。还有什么可以帮您？",
        "en": "OK, stopped — nothing was submitted. Anything else?",
    },
    "stopped_verify": {
        "zh": "好的。没有验证不能告诉您事项的详情。查询号和查询码印在成交确认书上；登录门户后在 /track 也可以直接查看。",
        "en": "OK. Without verification I can't share the details of a transfer. The tracking number and query code are on your sale confirmation; signed in on the portal you can also see it at /track.",
    },
    # ---- submissions ----
    "submitted": {
        "zh": "已提交，编号 {reference}（经办部门：{department}）。办理进展可在 {url} 查看，也可在“我的事项” /my/submissions 跟进。",
        "en": "Submitted — reference {reference} (handled by: {department}). Follow it at {url}, or under /my/submissions.",
    },
    "submitted_anonymous_transfer": {
        "zh": "已提交，编号 {reference}（经办部门：{department}）。请记下这个编号。您没有登录，可以这样跟进：打开 /track，输入查询号 {tracking_no} 和查询码，就能看到各部门的办理进度；也可以随时在这里说“查进度”，给我查询号和查询码。咨询经办部门时请报编号 {reference}。",
        "en": "Submitted — reference {reference} (handled by: {department}). Please note the reference. As you are not signed in, follow it like this: open /track and enter tracking number {tracking_no} with your query code to see each department's progress, or ask me here any time (“check my transfer”) with the tracking number and code. Quote {reference} when you contact the department.",
    },
    "submitted_anonymous": {
        "zh": "已提交，编号 {reference}（经办部门：{department}）。请记下这个编号。经办部门会按您留的电话{phone}联系您；您咨询时报这个编号即可。以后登录门户，也可以在“我的事项”里看到它。",
        "en": "Submitted — reference {reference} (handled by: {department}). Please note the reference. The department will contact you{phone}; quote the reference when you ask about it. If you sign in on the portal later, it is also listed under your requests.",
    },
    "submit_unreachable": {
        "zh": "抱歉，门户系统暂时连不上，申请还没有提交。您填的内容我都保留着。要现在再试一次吗？",
        "en": "Sorry, the portal can't be reached right now, so nothing has been submitted yet. I've kept everything you told me. Shall I try again now?",
    },
    "submit_invalid": {
        "zh": "门户退回了以下内容，需要您改一下：\n{errors}",
        "en": "The portal sent these back to be corrected:\n{errors}",
    },
    "submit_conflict": {
        "zh": "这份申请刚才已经用不同的内容提交过。为避免重复，我没有再次提交，请到 /my/submissions 查看。",
        "en": "This request was already sent with different details. To avoid a duplicate I haven't sent it again — please check /my/submissions.",
    },
    "submit_unauthorized": {
        "zh": "门户拒绝了这次提交（身份验证没有通过）。如果您已登录，请刷新页面后重试；也可以在门户 /my/submissions 直接提交。",
        "en": "The portal refused this submission (the identity check failed). If you are signed in, reload the page and try again, or submit it on the portal at /my/submissions.",
    },
    "submit_not_found": {
        "zh": "门户找不到对应的事项（查询号或查询码可能不对），没有提交。请核对后重新开始。",
        "en": "The portal couldn't find a matching record (the tracking number or query code may be wrong); nothing was submitted. Please check and start again.",
    },
    "submit_throttled": {
        "zh": "尝试次数太多了，请 {wait} 后再试。您填的内容我保留着。",
        "en": "Too many tries — please wait {wait} and try again. I've kept what you told me.",
    },
    "submit_failed": {
        "zh": "提交没有成功（门户返回 {status}）。没有生成申请，请稍后再试或到 /my/submissions 提交。",
        "en": "The submission didn't go through (the portal answered {status}). Nothing was created; please try later or submit at /my/submissions.",
    },
    "nothing_pending": {
        "zh": "目前没有待提交的申请。",
        "en": "There's nothing waiting to be submitted.",
    },
    "pending_dropped": {
        "zh": "好的，这份申请不再提交。需要时可以重新开始。",
        "en": "OK, I won't send that request. You can start again any time.",
    },
    # ---- transfer status ----
    "transfer_header": {
        "zh": "{title}（{tracking_no}）：已完成 {done}/{total} 步。",
        "en": "{title} ({tracking_no}): {done} of {total} steps done.",
    },
    "transfer_step": {
        "zh": "• {name}（{department}）：{state}{due}{extra}",
        "en": "• {name} ({department}): {state}{due}{extra}",
    },
    "transfer_due": {"zh": "，预计 {date} 前", "en": ", due by {date}"},
    "transfer_blocked": {"zh": "，原因：{reason}", "en": " — reason: {reason}"},
    "transfer_waiting_on": {"zh": "，等待：{steps}", "en": " — waiting on: {steps}"},
    "transfer_next": {"zh": "下一步：{steps}", "en": "Next: {steps}"},
    "transfer_all_done": {
        "zh": "所有步骤均已完成。",
        "en": "All steps are done.",
    },
    "transfer_link": {
        "zh": "完整进度和材料清单：{url}",
        "en": "Full progress and documents: {url}",
    },
    "transfer_not_found": {
        "zh": "查询号和查询码对不上（或没有这个查询号）。请核对成交确认书后重新输入查询码。",
        "en": "That tracking number and query code don't match (or the number doesn't exist). Please check your sale confirmation and enter the code again.",
    },
    "transfer_not_found_signed_in": {
        "zh": "在您的账户下没有找到这个查询号。请核对号码，或在 /track 查看您名下的事项。",
        "en": "I couldn't find that tracking number under your account. Please check the number, or see your transfers at /track.",
    },
    "transfer_bad_number": {
        "zh": "这个查询号格式不对：应为 ZT 加 10 位数字。",
        "en": "That tracking number isn't valid: it is ZT followed by 10 digits.",
    },
    "transfer_throttled": {
        "zh": "验证尝试次数太多，为保护您的信息已暂时锁定。请 {wait} 后再试，或登录门户后在 /track 查看。",
        "en": "Too many tries — lookups are paused to protect your data. Please wait {wait}, or sign in on the portal and use /track.",
    },
    "transfer_unavailable": {
        "zh": "抱歉，暂时查不到进度（门户系统连不上）。请稍后再问我，或直接打开 /track。",
        "en": "Sorry, I can't reach the portal to look that up right now. Ask me again later, or open /track.",
    },
    "transfer_unauthorized": {
        "zh": "暂时无法查询（助手的服务凭证被拒绝），已记录问题。请直接在 /track 查询。",
        "en": "I can't look that up right now (the assistant's service credentials were refused). Please use /track directly.",
    },
    "wait_seconds": {"zh": "{n} 秒", "en": "{n} seconds"},
    "wait_minutes": {"zh": "{n} 分钟", "en": "{n} minutes"},
    "wait_unknown": {"zh": "一段时间", "en": "a while"},
    # ---- verified lookups: cases, payouts, lots ----
    "case_header": {"zh": "{case_number}（{court}）：当前阶段 {stage}。", "en": "{case_number} ({court}): now at {stage}."},
    "case_latest": {"zh": "最新进展：{name}（{at}）{description}", "en": "Latest: {name} ({at}){description}"},
    "case_next_range": {
        "zh": "下一步：{name}，按以往同类节点的用时，大约在 {start} 至 {end} 之间（估计，不是承诺）。",
        "en": "Next: {name}, likely between {start} and {end} judging by how long this step usually takes (an estimate, not a promise).",
    },
    "case_next": {"zh": "下一步：{name}。", "en": "Next: {name}."},
    "case_assets": {"zh": "财产：{assets}{more}", "en": "Assets: {assets}{more}"},
    "and_more": {"zh": " 等共 {n} 项", "en": " and {n} more"},
    "case_my_payout": {"zh": "您的案款：{amount}，{status}。", "en": "Your payout: {amount}, {status}."},
    "case_link": {"zh": "完整进度：{url}", "en": "Full progress: {url}"},
    "case_link_none": {
        "zh": "完整进度可在门户的案件查询页用同样的信息查看。",
        "en": "The portal's case lookup page shows the full progress with the same details.",
    },
    "case_not_found": {
        "zh": "案号、身份证号和案件查询码对不上（或没有这个案件）。请核对法院送达的文书后再试，说“查案件进度”重新开始。",
        "en": "The case number, ID number and case query code don't match (or there is no such case). Please check the court's notices and try again — say “check my case” to start over.",
    },
    "case_none_signed_in": {
        "zh": "您的账户下没有关联的执行案件。也可以用案号、身份证号和案件查询码查询：先退出登录，或在门户的案件查询页查询。",
        "en": "No enforcement case is linked to your account. You can also look a case up with its number, your ID number and the case query code on the portal's case lookup page.",
    },
    "payout_header": {
        "zh": "批次 {batch_code}（案号 {case_number}）：您的案款 {amount}，{status}。",
        "en": "Batch {batch_code} (case {case_number}): your payout of {amount} is {status}.",
    },
    "payout_paid_at": {"zh": "发放日期：{at}。", "en": "Paid on {at}."},
    "payout_failure": {"zh": "原因：{reason}", "en": "Reason: {reason}"},
    "payout_bank_words": {"zh": "银行的说明：{note}", "en": "The bank's words: {note}"},
    "lot_sold": {"zh": "成交价 {price}", "en": "Sold for {price}"},
    "lot_contact": {"zh": "咨询：{court} {contact}", "en": "Questions: {court}, {contact}"},
    "lookup_bad_input_said": {"zh": "门户退回了：{message}。请核对后重新开始。",
                              "en": "The portal sent this back: {message}. Please check and start again."},
    "payout_next": {"zh": "接下来：{step}", "en": "What to do next: {step}"},
    "payout_not_found": {
        "zh": "批次号和身份证号对不上（或该批次没有这位收款人）。请核对法院的发放通知后再试。",
        "en": "The batch code and ID number don't match (or the batch has no such payee). Please check the court's payout notice and try again.",
    },
    "lot_header": {"zh": "拍品 {lot_no}：{title}（{status}）", "en": "Lot {lot_no}: {title} ({status})"},
    "lot_round": {"zh": "轮次：{value}", "en": "Round: {value}"},
    "lot_appraisal": {"zh": "评估价 {value}", "en": "appraisal {value}"},
    "lot_starting_price": {"zh": "起拍价 {value}", "en": "starting price {value}"},
    "lot_deposit": {"zh": "保证金 {value}", "en": "deposit {value}"},
    "lot_increment": {"zh": "加价幅度 {value}", "en": "increment {value}"},
    "lot_bidding": {"zh": "竞价时间：{start} 至 {end}", "en": "Bidding: {start} to {end}"},
    "lot_platform": {"zh": "竞价平台：{platform} {link}", "en": "Bidding platform: {platform} {link}"},
    "lot_tax_clause": {"zh": "税费承担：{clause}", "en": "Who pays the taxes: {clause}"},
    "lot_general_rules": {
        "zh": "通用规则（保证金退还、延时竞价、二拍降价等）：/guide；税费估算：/taxes",
        "en": "General rules (deposit refunds, extended bidding, second-round reductions): /guide; tax estimate: /taxes",
    },
    "lot_finding_version": {"zh": "（第 {n} 版，有更新）", "en": " (version {n}, updated)"},
    "lot_no_findings": {"zh": "各部门的联审意见还没有公布。", "en": "No department has published its findings yet."},
    "lot_pending": {"zh": "尚未答复的部门：{departments}", "en": "Departments that have not answered yet: {departments}"},
    "lot_link": {"zh": "拍品页面：{url}", "en": "Lot page: {url}"},
    "lot_not_found": {
        "zh": "没有找到拍品 {lot_no}。请核对拍品编号（例如 ZJ-0681-2026-0142）或直接发拍品链接。",
        "en": "I couldn't find lot {lot_no}. Please check the lot number (e.g. ZJ-0681-2026-0142) or send the lot's link.",
    },
    "lookup_throttled": {
        "zh": "核对次数太多，为保护信息已暂时锁定。请 {wait} 后再试。",
        "en": "Too many tries — lookups are paused to protect the record. Please wait {wait}.",
    },
    "lookup_bad_input": {
        "zh": "门户认为提供的信息格式不对，请核对后重新开始。",
        "en": "The portal says the details are not in a valid form; please check them and start again.",
    },
    "lookup_unauthorized": {
        "zh": "暂时无法查询（助手的服务凭证被拒绝），已记录问题。请直接在门户查询。",
        "en": "I can't look that up right now (the assistant's service credentials were refused). Please use the portal directly.",
    },
    "lookup_unavailable": {
        "zh": "抱歉，暂时查不到（门户系统连不上）。请稍后再问我，或直接在门户查询。",
        "en": "Sorry, I can't reach the portal to look that up right now. Ask me again later, or use the portal directly.",
    },
    # ---- inform outside forms ----
    "inform_what_for": {
        "zh": "收到。您想用它做什么呢？例如“查过户进度”“申请水电气过户”“提供财产线索”。",
        "en": "Got it. What would you like to do with it? For example “check my transfer”, “utility handover”, or “report an asset clue”.",
    },
}

STATE_NAMES: dict[str, dict[str, str]] = {
    "waiting": {"zh": "等待前序步骤", "en": "waiting"},
    "ready": {"zh": "可以办理", "en": "ready to start"},
    "in_progress": {"zh": "办理中", "en": "in progress"},
    "done": {"zh": "已完成", "en": "done"},
    "blocked": {"zh": "受阻", "en": "blocked"},
    "not_applicable": {"zh": "不适用", "en": "not applicable"},
}


def t(key: str, lang: str, **values: Any) -> str:
    """The catalogue text for ``key`` in ``lang`` (zh fallback), formatted."""
    entry = CATALOGUE[key]
    text = entry.get(lang) or entry["zh"]
    return text.format(**values) if values else text


def wait_text(seconds: int | None, lang: str) -> str:
    if seconds is None:
        return t("wait_unknown", lang)
    if seconds < 120:
        return t("wait_seconds", lang, n=seconds)
    return t("wait_minutes", lang, n=(seconds + 59) // 60)


def in_language(value: Any, lang: str) -> str:
    """Text from the portal in the reader's language only.

    The portal sends it either as separate values ({"zh": …, "en": …}) or, in older data, as
    one "中文 / English" string: the half in the reader's language is shown. Text in one
    language only is shown as written.
    """
    if value is None:
        return ""
    if isinstance(value, dict):
        chosen = value.get(lang) or value.get("zh") or value.get("en") or next(
            (v for v in value.values() if isinstance(v, str) and v), "")
        return str(chosen)
    text = str(value)
    parts = [p.strip() for p in _PAIR_SEP.split(text) if p.strip()]
    if len(parts) < 2:
        return text
    zh = [p for p in parts if _CJK.search(p)]
    en = [p for p in parts if not _CJK.search(p) and _LATIN.search(p)]
    if not zh or not en or len(zh) + len(en) != len(parts):
        return text  # not a pair of languages: "A / B" in one language is shown as written
    return " / ".join(en if lang == "en" else zh)


def localized(obj: dict[str, Any], key: str, lang: str) -> str:
    """``obj[key]`` in the reader's language: ``key_zh``/``key_en`` when the portal sends the
    languages separately, else ``key`` (a pair in one string is cut to the reader's half)."""
    separate = obj.get(f"{key}_{lang}")
    if separate:
        return in_language(separate, lang)  # (a pair slipped into one language's value too)
    if obj.get(key) is None:
        other = obj.get(f"{key}_zh") or obj.get(f"{key}_en")
        return in_language(other, lang) if other else ""
    return in_language(obj.get(key), lang)
