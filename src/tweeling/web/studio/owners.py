"""For a twin's data owners: who used its datasets, when and for what, as a table and a bar
chart (SVG drawn here, every bar with its number in text), the audit log's verification, and
sharing the twin with another organisation for named purposes (``POST /twins/{name}/shares``,
called by the page's form)."""

from collections import Counter
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from tweeling.errors import Forbidden
from tweeling.services import organisations as organisations_service
from tweeling.services import twins as twins_service
from tweeling.services.platform import Database
from tweeling.web.studio import Section, StudioDeps
from tweeling.web.studio.layout import Visitor, render, translate

BAR_HEIGHT = 24
BAR_GAP = 8
LABEL_WIDTH = 220
BAR_WIDTH = 360


def section() -> Section:
    return Section(name="owners", routes=routes)


@dataclass(frozen=True)
class Bar:
    label: str
    count: int
    y: int
    width: int


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    width: int
    height: int
    label_width: int


def chart(counts: Counter[str]) -> Chart:
    """Horizontal bars, longest first; a bar's width is its share of the largest count."""
    most = max(counts.values(), default=0)
    bars = [
        Bar(
            label=label,
            count=count,
            y=i * (BAR_HEIGHT + BAR_GAP),
            width=max(1, round(BAR_WIDTH * count / most)),
        )
        for i, (label, count) in enumerate(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    ]
    return Chart(
        bars=bars,
        width=LABEL_WIDTH + BAR_WIDTH + 60,
        height=max(BAR_HEIGHT, len(bars) * (BAR_HEIGHT + BAR_GAP)),
        label_width=LABEL_WIDTH,
    )


def uses_by_organisation(usage: list[dict[str, Any]], nobody: str) -> Counter[str]:
    return Counter(row["organisation"] or row["user"] or nobody for row in usage)


def routes(deps: StudioDeps) -> APIRouter:
    router = APIRouter()
    DB = Annotated[Database, Depends(deps.database)]
    Seen = Annotated[Visitor, Depends(deps.visitor)]

    @router.get("/studio/twins/{twin}/usage")
    def usage_page(request: Request, twin: str, db: DB, visitor: Seen) -> Response:
        info = twins_service.twin_info(db, visitor.principal, twin)
        usage = twins_service.usage(db, visitor.principal, twin)  # owners only (policy)
        nobody = translate(visitor.language, "anonymous")
        try:
            audit: Any = organisations_service.verify_audit(db, visitor.principal)
        except Forbidden:
            audit = None  # the log is the platform's: its market master checks it
        return render(
            request,
            visitor,
            "studio/account_usage.html",
            title=translate(visitor.language, "Use of the data"),
            twin=info,
            usage=list(reversed(usage)),  # newest first
            chart=chart(uses_by_organisation(usage, nobody)),
            audit=audit,
            crumbs=[
                {"href": "/studio/twins", "title": translate(visitor.language, "Twins")},
                {"href": f"/studio/twins/{twin}", "title": info.title or twin},
            ],
        )

    return router
