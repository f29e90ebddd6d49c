"""Who may see a case, and the throttled check of case number + ID number + query code.

A party (creditor or debtor) reaches their case signed in (an account linked to the party) or
by giving the case number, their ID number and the case's query code (案件查询码): proving
those sets a signed grant cookie naming the case and the party, so the page opens without
them again on that device. Court staff see the cases of the courts they work for
(``case_court_staff``); administrators see every case.

Unknown numbers, wrong ID numbers and wrong codes all get the same answer. Wrong answers are
counted per case number and per client in the shared throttle (database or Redis, so every
replica counts together); past the limit every answer — the right one too — is refused
until the window ends (a lock of up to ``THROTTLE_WINDOW_SECONDS``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from accounts.principal import Principal
from accounts.tokens import sign, unsign
from cases import codes
from cases.errors import CaseError, CaseForbidden, CaseNotFound
from cases.idnumbers import id_hash, id_key, parse_id_number
from cases.models import CaseParty, CourtStaff, EnforcementCase
from cases.numbers import parse_case_number
from cases.read import Viewer
from kernel.grants import CodeGrant
from storage.audit import record_audit
from storage.errors import Throttled
from storage.throttle import Throttle

GRANT_PURPOSE = "case-grant"
GRANT_TTL = 60 * 60 * 24 * 30
# Proof that this browser gave the right answers for one party of one case: subject "<case>p<party>".
CASE_GRANT = CodeGrant(cookie_prefix="ec_", purpose=GRANT_PURPOSE, ttl_seconds=GRANT_TTL)

# In multiples of THROTTLE_FAILURES (5 by default), per window: a client may fail 20 times across
# cases; one case number takes 100 wrong answers from everyone together (high, so that a stranger
# who knows a published case number cannot easily lock its parties out; see docs/cases.md).
CLIENT_LIMIT_FACTOR = 4
CASE_LIMIT_FACTOR = 20

NOT_FOUND = CaseNotFound("案号、身份证号码与查询码不匹配。请核对法院送达的案件查询码通知。",
                         "The case number, ID number and query code do not match. Check them against the "
                         "query-code notice the court sent you.")


class QueryCodeMissing(CaseError):
    status_code = 422
    code = "query_code_missing"


def grant_subject(case_id: int, party_id: int) -> str:
    return f"{case_id}p{party_id}"


@dataclass(frozen=True)
class Proven:
    case: EnforcementCase
    party: CaseParty


@dataclass
class CaseChecker:
    secret: str
    throttle: Throttle

    def limits(self, case_number: str, client_key: str) -> dict[str, int]:
        return {f"case:no:{case_number}": self.throttle.limit * CASE_LIMIT_FACTOR,
                f"case:client:{client_key}": self.throttle.limit * CLIENT_LIMIT_FACTOR}

    async def verify(self, session: AsyncSession, raw_number: str, raw_id: str, raw_code: str,
                     client_key: str) -> Proven:
        """The case and party these answers prove, or NOT_FOUND (the same for every wrong answer).

        Malformed input (a case number that cannot be one, an ID number with a wrong check digit)
        is a 422 that says what to fix and is not counted: it reveals nothing about any case.
        Raises Throttled after repeated failures, before saying whether these answers were right.
        """
        number = parse_case_number(raw_number).text
        id_number = parse_id_number(raw_id)
        code = codes.normalise_code(raw_code)
        if not code:
            raise QueryCodeMissing("请填写案件查询码。", "Please enter the case query code.", field="query_code")
        case = await session.scalar(select(EnforcementCase).where(EnforcementCase.case_number == number))
        # The party is looked up even for an unknown case, so both answers cost the same reads.
        party = await session.scalar(select(CaseParty).where(
            CaseParty.case_id == (case.id if case is not None else -1),
            CaseParty.id_hash == id_hash(id_key(self.secret), id_number)))
        code_ok = codes.code_matches(self.secret, number, code, case.query_code_digest if case else None)
        ok = case is not None and party is not None and code_ok
        if session.in_transaction() and not (session.new or session.dirty or session.deleted):
            await session.commit()  # give the pooled connection back before the counters' round trip
        limits = self.limits(number, client_key)
        verdict = await (self.throttle.peek(limits) if ok else self.throttle.hit(limits))
        if verdict.refused:
            raise Throttled(verdict.retry_after)
        if not ok or case is None or party is None:
            raise NOT_FOUND
        number_key = f"case:no:{number}"
        if verdict.counts.get(number_key):
            await self.throttle.reset([number_key])  # a party proved the answers: strangers' misses go
        return Proven(case, party)


async def staff_courts(session: AsyncSession, principal: Principal) -> set[str] | None:
    """The courts whose cases this person sees; None = every court (administrators)."""
    if principal.is_admin:
        return None
    if not principal.works_for("court"):
        return set()
    return set((await session.scalars(select(CourtStaff.court_code)
                                      .where(CourtStaff.user_id == principal.user_id))).all())


async def viewer_for(session: AsyncSession, case: EnforcementCase, principal: Principal | None,
                     grants: Mapping[str, bool] | None = None, *, as_staff: bool = False) -> Viewer | None:
    """How this caller sees the case, or None.

    ``grants`` maps party ids (as strings) to whether the browser holds a valid grant for them
    (the controller checks the cookies through ``request.auth.holds``). Staff views are only
    given on staff pages (``as_staff``): on the public page court staff are parties like anyone.
    """
    if principal is not None and as_staff:
        courts = await staff_courts(session, principal)
        if courts is None or case.court_code in courts:
            return Viewer("staff")
        return None
    parties = (await session.scalars(select(CaseParty).where(CaseParty.case_id == case.id))).all()
    if principal is not None:
        for party in parties:
            if party.user_id == principal.user_id:
                return Viewer(party.role, party.id)  # type: ignore[arg-type]
    for party in parties:
        if grants and grants.get(str(party.id)):
            return Viewer(party.role, party.id)  # type: ignore[arg-type]
    return None


def grants_of(auth: Any, cookie_names: list[str], case: Any) -> dict[str, bool]:
    """Which parties of the case this browser holds a valid grant for (``auth`` is ``request.auth``)."""
    return {str(pid): auth.holds(CASE_GRANT, grant_subject(case.id, pid), case.query_code_version)
            for pid in granted_parties(case.id, cookie_names)}


def granted_parties(case_id: int, cookie_names: list[str]) -> list[int]:
    """Party ids named by this browser's grant cookies for the case (still to be checked)."""
    prefix = CASE_GRANT.cookie_name(f"{case_id}p")
    out = []
    for name in cookie_names:
        if name.startswith(prefix) and name[len(prefix):].isdigit():
            out.append(int(name[len(prefix):]))
    return out


async def assign_court(session: AsyncSession, admin: Principal, user_id: int, court_code: str,
                       assigned: bool) -> None:
    """An administrator adds a member of court staff to a court (they then see its cases), or
    removes them. Audited; does not commit."""
    from accounts.models import User
    from cases.catalogue import catalogue

    if not admin.is_admin:
        raise CaseForbidden("只有管理员可以分配法院。", "Only an administrator assigns staff to courts.")
    user = await session.get(User, user_id)
    if user is None or user.role != "staff" or user.department != "court":
        raise CaseError("请选择法院执行局的工作人员。", "Choose a member of the court enforcement bureau's staff.")
    if court_code not in catalogue().courts:
        raise CaseError("请选择法院。", "Choose a court.")
    row = await session.scalar(select(CourtStaff).where(CourtStaff.user_id == user_id,
                                                        CourtStaff.court_code == court_code))
    if assigned and row is None:
        session.add(CourtStaff(user_id=user_id, court_code=court_code))
    elif not assigned and row is not None:
        await session.delete(row)
    else:
        return
    record_audit(session, actor_id=admin.user_id, actor_label=admin.label, subject_type="user_account",
                 subject_id=user_id, action="case_court_staff.assign" if assigned else "case_court_staff.remove",
                 after={"court_code": court_code})


async def link_account(session: AsyncSession, party: CaseParty, principal: Principal) -> bool:
    """A signed-in person who proved a party's answers has that party linked to their account
    (once: a party already linked to another account stays as it is). Does not commit."""
    if party.user_id is not None or principal.is_staff or principal.is_admin:
        return False
    party.user_id = principal.user_id
    record_audit(session, actor_id=principal.user_id, actor_label=principal.label, subject_type="case_party",
                 subject_id=party.id, action="case_party.link_account", before={"user_id": None},
                 after={"user_id": principal.user_id})
    return True


async def cases_of(session: AsyncSession, user_id: int) -> list[tuple[EnforcementCase, CaseParty]]:
    rows = (await session.execute(select(EnforcementCase, CaseParty)
                                  .join(CaseParty, CaseParty.case_id == EnforcementCase.id)
                                  .where(CaseParty.user_id == user_id)
                                  .order_by(EnforcementCase.filed_on.desc()))).all()
    return [(r[0], r[1]) for r in rows]


PROOF_PURPOSE = "case-clue-proof"
PROOF_TTL = 60 * 60  # a clue form opened from the case page may be sent within the hour


def clue_proof(secret: str, case_id: int, party_id: int) -> str:
    """What the case page's clue form sends instead of a query code: this browser opened the case as that party."""
    return sign(secret, PROOF_PURPOSE, f"{case_id}:{party_id}", PROOF_TTL)


def _proof(secret: str, token: str) -> tuple[int, int] | None:
    payload = unsign(secret, PROOF_PURPOSE, token)
    if payload is None:
        return None
    case_id, _, party_id = payload.partition(":")
    return (int(case_id), int(party_id)) if case_id.isdigit() and party_id.isdigit() else None


@dataclass(frozen=True)
class ClueSender:
    """Who a clue about a case comes from, as far as it could be checked."""

    case_number: str
    case_id: int | None  # None: a case this portal does not hold (the court's own system may)
    court_code: str | None
    party_role: str | None  # "creditor"/"debtor" for a party known by account or page; None otherwise
    verified_party: bool  # the sender proved they are a party (page, account, or query code)
    owner_id: int | None  # the account the item belongs to, if any


async def check_clue_sender(engine: AsyncEngine, secret: str, throttle: Throttle, reference: str, code: str | None,
                            citizen_id: int | None, client_key: str) -> ClueSender | None:
    """May this clue be filed on the named case, and as whose? None: a code was given and is wrong.

    Anyone may tell the court about a debtor's assets or conduct (courts invite the public to),
    so a clue without a code is filed as a tip — whether or not the portal holds the case, and
    the answer does not say which. A party proves who they are with the case page (a signed
    proof), their linked account, or the case's query code (counted like the lookup's answers).
    """
    try:
        number = parse_case_number(reference).text
    except CaseError:
        number = reference
    async with AsyncSession(engine, expire_on_commit=False) as session:
        case = await session.scalar(select(EnforcementCase).where(EnforcementCase.case_number == number))
        party: CaseParty | None = None
        if case is not None and code and "." in code:
            proof = _proof(secret, code)
            if proof is not None and proof[0] == case.id:
                party = await session.get(CaseParty, proof[1])
            if party is None or party.case_id != case.id:
                return None
        elif case is not None and citizen_id is not None and not code:
            party = await session.scalar(select(CaseParty).where(CaseParty.case_id == case.id,
                                                                 CaseParty.user_id == citizen_id))
    if code and party is None:
        ok = codes.code_matches(secret, number, code, case.query_code_digest if case else None)
        limits = CaseChecker(secret, throttle).limits(number, client_key)
        verdict = await (throttle.peek(limits) if ok else throttle.hit(limits))
        if verdict.refused:
            raise Throttled(verdict.retry_after)
        if not ok:
            return None
        return ClueSender(number, case.id if case else None, case.court_code if case else None, None, True,
                          citizen_id)
    if case is None:
        return ClueSender(number, None, None, None, False, citizen_id)
    return ClueSender(number, case.id, case.court_code, party.role if party else None, party is not None,
                      party.user_id if party is not None and party.user_id else citizen_id)


__all__ = ["ClueSender", "check_clue_sender", "clue_proof", "grants_of","CASE_GRANT", "NOT_FOUND", "CaseChecker", "Proven", "QueryCodeMissing", "cases_of", "grant_subject",
           "granted_parties", "link_account", "staff_courts", "viewer_for"]
