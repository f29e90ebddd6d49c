"""Texts the actions compose at run time, in Chinese and English.

Static answers are responses in domain/; these are the ones that carry data
(references, step lists, field errors). ``t(key, lang, **values)`` formats one.
"""
from __future__ import annotations

from typing import Any

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
