"""The licence check: an SPDX licence and an allowed business model."""

from __future__ import annotations

from license_expression import ExpressionError, get_spdx_licensing

from tweeling.apps.manifest import Manifest
from tweeling.store.accreditation.checks.base import CheckContext, CheckResult, Quality
from tweeling.store.pages import PriceModel, ProductPage

NAME = "licence"
BUSINESS_MODELS = set(PriceModel.__args__)  # type: ignore[attr-defined]


def licence(manifest: Manifest, page: ProductPage) -> CheckResult:
    evidence = {"licence": manifest.licence, "business_model": page.price.model}
    try:
        get_spdx_licensing().parse(manifest.licence, validate=True)
    except ExpressionError as exc:
        return CheckResult(NAME, False, f"not an SPDX licence expression: {exc}", evidence)
    if page.price.model not in BUSINESS_MODELS:
        return CheckResult(NAME, False, "business model outside the allowed set", evidence)
    return CheckResult(
        NAME, True, f"{manifest.licence}, business model {page.price.model}", evidence
    )


class LicenceCheck:
    name = NAME
    proves = "The licence is a valid SPDX expression and the business model an allowed one."
    criteria: tuple[str, ...] = ("LEG-2", "ECO-1")
    quality: Quality | None = None

    def run(self, context: CheckContext) -> CheckResult:
        return licence(context.manifest, context.page)
