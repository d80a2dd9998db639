"""Product pages: what a publisher writes about an app version for the store.

A page lives in the app folder as ``tweeling-listing.toml`` and so travels inside the signed
package: what a municipality reads is what the publisher signed. What the manifest already
says (use cases, licence, personal data, inputs, resources) is taken from there, never
written twice. The description is Markdown (CommonMark), rendered without raw HTML and then
sanitised (Ammonia, through nh3), so a page cannot carry scripts into the store.
"""

from __future__ import annotations

import io
import zipfile
from typing import Annotated, Any, Literal

import nh3
from markdown_it import MarkdownIt
from pydantic import BaseModel, ConfigDict, Field, model_validator

from tweeling.apps.manifest import Manifest
from tweeling.apps.packages import Package
from tweeling.errors import InvalidInput
from tweeling.store.documents import toml, validated

PAGE_FILE = "tweeling-listing.toml"

PriceModel = Literal["free", "subscription", "pay-per-use", "one-off", "on-request"]
# The lawful bases of the AVG/GDPR, article 6(1) a-f.
LawfulBasis = Literal[
    "consent", "contract", "legal-obligation", "vital-interests", "public-task",
    "legitimate-interests",
]  # fmt: skip
Implementation = Literal["platform", "remote", "on-premise"]

_TAGS = {
    "p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a",
    "h1", "h2", "h3", "h4", "table", "thead", "tbody", "tr", "th", "td", "hr",
}  # fmt: skip
_IMAGES = (".png", ".jpg", ".jpeg", ".webp")
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Price(_Strict):
    model: PriceModel = "free"
    amount_eur: Annotated[float, Field(ge=0)] | None = None
    per: str | None = Field(default=None, description="what the amount is for: year, run, …")

    @model_validator(mode="after")
    def _amount_fits_model(self) -> Price:
        if self.model == "free" and self.amount_eur:
            raise ValueError("a free app has no amount")
        if self.model in ("subscription", "pay-per-use", "one-off") and self.amount_eur is None:
            raise ValueError(f"a {self.model} price needs amount_eur")
        return self


class ServiceLevel(_Strict):
    support_hours: str = Field(description="e.g. 'working days 9:00-17:00 CET'")
    response_time: str = Field(description="e.g. '1 working day'")
    availability: str | None = Field(default=None, description="e.g. '99.5 % per month'")


class Privacy(_Strict):
    statement: str | None = None
    lawful_basis: LawfulBasis | None = None


class DataNeed(_Strict):
    layer: str
    quality: str | None = Field(default=None, description="what the data must be like")
    if_missing: str = Field(description="what missing or poor data does to the outcome")


def _on_the_platform() -> list[Implementation]:
    return ["platform"]


class ProductPage(_Strict):
    title: str = Field(min_length=3, max_length=120)
    summary: str = Field(min_length=10, max_length=300)
    description: str = Field(default="", max_length=50_000, description="Markdown")
    screenshots: list[str] = Field(default_factory=list, max_length=12)
    data: list[DataNeed] = Field(default_factory=list)
    hardware: str | None = None
    software: str | None = None
    implementation: list[Implementation] = Field(default_factory=_on_the_platform)
    service: ServiceLevel | None = None
    price: Price = Field(default_factory=Price)
    privacy: Privacy = Field(default_factory=Privacy)
    contact: str | None = None
    changelog: str = Field(default="", max_length=20_000, description="Markdown, this version")
    keywords: list[str] = Field(default_factory=list, max_length=30)


def render_markdown(text: str) -> str:
    """Markdown as HTML that is safe to show: no raw HTML, then only harmless tags."""
    html = _MARKDOWN.render(text or "")
    return nh3.clean(html, tags=_TAGS, attributes={"a": {"href", "title"}}, link_rel="nofollow")


def _check_against_manifest(page: ProductPage, manifest: Manifest, where: str) -> None:
    declared = {spec.layer for spec in manifest.inputs.layers}
    for need in page.data:
        if need.layer not in declared:
            raise InvalidInput(
                f"{where}: data.layer {need.layer!r} is not an input of the manifest "
                f"(declared: {', '.join(sorted(declared)) or 'none'})"
            )
    if manifest.personal_data and not (page.privacy.statement and page.privacy.lawful_basis):
        raise InvalidInput(
            f"{where}: the app processes personal data (manifest personal_data = true), so "
            "its page needs privacy.statement and privacy.lawful_basis (AVG article 6)"
        )
    if manifest.remote and "remote" not in page.implementation:
        raise InvalidInput(f"{where}: a remote app's page must list implementation 'remote'")


def default_page(manifest: Manifest) -> ProductPage:
    """The page of an app whose publisher wrote none: the manifest's own words."""
    return ProductPage(
        title=manifest.name,
        summary=manifest.summary,
        description=manifest.description or "",
        implementation=["remote"] if manifest.remote else ["platform"],
    )


def parse_page(data: dict[str, Any], manifest: Manifest, where: str) -> ProductPage:
    page = validated(ProductPage, data, where, "(page)")
    _check_against_manifest(page, manifest, where)
    return page


def page_of(package: Package) -> ProductPage:
    """The product page signed into a package, or the manifest's default when it has none.
    Screenshots must be image files of the package (so they are signed with it too)."""
    where = f"{package.manifest.id} {package.manifest.version}: {PAGE_FILE}"
    with zipfile.ZipFile(io.BytesIO(package.archive)) as archive:
        names = set(archive.namelist())
        if PAGE_FILE not in names:
            return default_page(package.manifest)
        data = toml(archive.read(PAGE_FILE), where)
    page = parse_page(data, package.manifest, where)
    for shot in page.screenshots:
        if shot not in names:
            raise InvalidInput(f"{where}: screenshot {shot!r} is not a file of the package")
        if not shot.lower().endswith(_IMAGES):
            raise InvalidInput(f"{where}: screenshot {shot!r} is not a PNG, JPEG or WebP image")
    return page
