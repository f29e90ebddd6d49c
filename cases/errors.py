"""The cases domain's refusals (one bilingual error family, see kernel.errors)."""

from __future__ import annotations

from kernel.errors import BilingualError


class CaseError(BilingualError):
    status_code = 409
    code = "case_error"


class CaseNumberInvalid(CaseError):
    """A case number that cannot be one: the message says which part is wrong."""

    status_code = 422
    code = "case_number_invalid"


class IdNumberInvalid(CaseError):
    """An ID number that is not 18 characters with a valid GB 11643 check digit."""

    status_code = 422
    code = "id_number_invalid"


class CaseNotFound(CaseError):
    """No case for what was given. The same answer whether the case exists or the answers are wrong."""

    status_code = 404
    code = "case_not_found"


class CaseForbidden(CaseError):
    status_code = 403
    code = "case_forbidden"


class IngestInvalid(CaseError):
    """A record from the court's case system that cannot be stored as it is."""

    status_code = 422
    code = "case_ingest_invalid"


__all__ = ["CaseError", "CaseForbidden", "CaseNotFound", "CaseNumberInvalid", "IdNumberInvalid", "IngestInvalid"]
