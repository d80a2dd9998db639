"""The privacy check: personal data only with a statement and a lawful basis."""

from __future__ import annotations

from tweeling.apps.manifest import Manifest
from tweeling.store.accreditation.checks.base import CheckContext, CheckResult, Quality
from tweeling.store.pages import ProductPage

NAME = "privacy"


def privacy(manifest: Manifest, page: ProductPage) -> CheckResult:
    """Personal data only with a privacy statement and a lawful basis. Data minimisation is
    the platform's: an app receives only the layers, object types and attributes it declares
    (``apps.inputs``), so the evidence lists exactly what it can read."""
    reads = {
        spec.layer: {"object_types": spec.object_types, "attributes": spec.attributes}
        for spec in manifest.inputs.layers
    }
    evidence = {
        "personal_data": manifest.personal_data,
        "reads": reads,
        "lawful_basis": page.privacy.lawful_basis,
    }
    if manifest.personal_data and not (page.privacy.statement and page.privacy.lawful_basis):
        return CheckResult(
            NAME, False, "processes personal data without a privacy statement", evidence
        )
    what = "personal data with a lawful basis" if manifest.personal_data else "no personal data"
    attributes = sum(len(spec.attributes) for spec in manifest.inputs.layers)
    return CheckResult(
        NAME,
        True,
        f"{what}; receives only its {len(reads)} declared layer(s) and {attributes} declared "
        "attribute(s) (platform-enforced)",
        evidence,
    )


class PrivacyCheck:
    name = NAME
    proves = (
        "An app that processes personal data has a privacy statement and a lawful basis, and "
        "receives only the data it declares."
    )
    criteria: tuple[str, ...] = ("LEG-1",)
    quality: Quality | None = None

    def run(self, context: CheckContext) -> CheckResult:
        return privacy(context.manifest, context.page)
