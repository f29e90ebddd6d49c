"""The tax estimator on its own: ``GET /api/v1/tax/estimate`` and the public calculator page.

Both take the same parameters (:class:`~title_transfer.tax_inputs.EstimateQuery`); the page is a
plain GET form (shareable URL, works without JavaScript) that htmx enhances by swapping only the
result as fields change.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get
from litestar.params import Parameter
from litestar.response import Template

from kernel.errors import BilingualError, error_view, is_htmx
from title_transfer.tax_inputs import FIELDS, EstimateAnswer, answer, parse_query

# An estimate is a pure function of its URL and the rate file: anyone may keep it a while.
PUBLIC_ESTIMATE = "public, max-age=300"


def _q(description: str) -> Any:
    return Parameter(required=False, description=description)


class TaxEstimateAPI(Controller):
    path = "/api/v1/tax"
    tags = ["taxes"]

    @get(
        "/estimate",
        name="api.tax_estimate",
        summary="Estimate the taxes on a judicial sale of real estate, line by line with the rule of each",
        description=(
            "No credentials needed. Unknown, repeated or out-of-range parameters are a 400 whose "
            "`details.field` names the parameter and whose message says what to send. Amounts are "
            "decimal strings in yuan. An estimate: the tax bureau's assessment is what is paid."
        ),
    )
    async def estimate(
        self,
        request: Request[Any, Any, Any],
        price: Annotated[str | None, _q("Sale price in yuan (required), e.g. 2000000")] = None,
        area: Annotated[str | None, _q("Floor area in m² (required), e.g. 89.5")] = None,
        kind: Annotated[str | None, _q("residential (default) or non_residential")] = None,
        buyer: Annotated[str | None, _q("individual (default) or company")] = None,
        buyer_homes: Annotated[str | None, _q("Homes the buyer's family owns counting this one; 1 = only home")] = None,
        seller: Annotated[str | None, _q("individual (default) or company")] = None,
        seller_years: Annotated[str | None, _q("Whole years the seller has held it; leave out if unknown")] = None,
        seller_only_home: Annotated[str | None, _q("true if it is the seller family's only home")] = None,
        purchase_price: Annotated[str | None, _q("What the seller paid, in yuan, if known")] = None,
        city_level: Annotated[str | None, _q("city (default), county or other: sets the urban maintenance tax")] = None,
        clause: Annotated[str | None, _q("by_law (default) or buyer_bears_all: who pays under the lot's terms")] = None,
        sale_date: Annotated[str | None, _q("YYYY-MM-DD; default today (picks the rates in force)")] = None,
    ) -> Response[EstimateAnswer]:
        result = answer(parse_query(request.query_params))  # EstimateInputInvalid → 400
        return Response(result, headers={"Cache-Control": PUBLIC_ESTIMATE})


async def _refused(request: Request[Any, Any, Any], exc: BilingualError) -> Response[Any]:
    """The form again with what was typed and the message beside the field it names."""
    from kernel.deps import request_lang

    context = {"values": _values(request), "result": None, "error": exc.message(request_lang(request)),
               "error_field": exc.details.get("field")}
    template = "title_transfer/_estimate.html" if is_htmx(request) else "title_transfer/calculator.html"
    return Template(template, status_code=exc.status_code, context=context)


def _values(request: Request[Any, Any, Any]) -> dict[str, str]:
    return {k: str(v)[:40] for k, v in request.query_params.items() if k in FIELDS}


class TaxCalculatorController(Controller):
    path = "/taxes/calculator"
    include_in_schema = False

    @get("/", name="tax.calculator", opt=error_view(_refused))
    async def page(self, request: Request[Any, Any, Any]) -> Template:
        values = _values(request)
        result = answer(parse_query(request.query_params)) if values else None
        context = {"values": values, "result": result, "error": None, "error_field": None}
        template = "title_transfer/_estimate.html" if is_htmx(request) else "title_transfer/calculator.html"
        return Template(template, context=context)  # the page carries the CSRF token: not cached


__all__ = ["TaxCalculatorController", "TaxEstimateAPI"]
