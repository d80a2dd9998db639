"""Peer reviews: an organisation rates a version it has run, the publisher answers, anyone
may report a review as abusive and the market master judges.

The rule that makes a review worth reading: it can only come from an organisation whose run
records show a successful run of that very package. One review per organisation and version
(writing again replaces it). A hidden review stays on record but out of sight.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from tweeling.apps.sandbox import RunStatus
from tweeling.errors import Conflict, InvalidInput, NotFound
from tweeling.storage.db import clock_of
from tweeling.storage.schema import (
    app_runs,
    organisations,
    store_abuse_reports,
    store_reviews,
)
from tweeling.store.catalogue import Version, plain

MAX_TEXT = 5_000


@dataclass(frozen=True)
class Review:
    id: int
    app_id: str
    version: str
    organisation: str
    author: str
    rating: int
    text: str
    created_at: datetime
    response: str | None
    response_by: str | None
    hidden: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "app": self.app_id,
            "version": self.version,
            "organisation": self.organisation,
            "author": self.author,
            "rating": self.rating,
            "text": self.text,
            "created_at": self.created_at.isoformat(),
            "response": self.response,
            "response_by": self.response_by,
        }


def runs_of(conn: Connection, version: Version, org_id: int) -> int:
    """Successful runs of this version's package by the organisation."""
    return int(
        conn.execute(
            select(func.count()).where(
                app_runs.c.package_id == version.package_id,
                app_runs.c.org_id == org_id,
                app_runs.c.status == RunStatus.successful,
            )
        ).scalar_one()
    )


def write(
    conn: Connection, version: Version, org_id: int, author: str, rating: int, text: str
) -> int:
    if not 1 <= rating <= 5:
        raise InvalidInput(f"a rating is 1 to 5 stars, not {rating}")
    if not text.strip() or len(text) > MAX_TEXT:
        raise InvalidInput(f"a review needs a text of 1 to {MAX_TEXT:,} characters")
    if not runs_of(conn, version, org_id):
        raise Conflict(
            f"your organisation has no successful run of {version.label} on record; only "
            "organisations that used a version may review it"
        )
    stamp = clock_of(conn).now()
    existing = conn.execute(
        select(store_reviews.c.id).where(
            store_reviews.c.version_id == version.id, store_reviews.c.org_id == org_id
        )
    ).scalar()
    values = {"author": author, "rating": rating, "text": text, "updated_at": stamp}
    if existing is not None:
        conn.execute(update(store_reviews).where(store_reviews.c.id == existing).values(values))
        return int(existing)
    key = conn.execute(
        insert(store_reviews).values(
            version_id=version.id, org_id=org_id, created_at=stamp, hidden=False, **values
        )
    ).inserted_primary_key
    assert key is not None
    return int(key[0])


def _review_row(conn: Connection, review_id: int) -> Any:
    row = conn.execute(select(store_reviews).where(store_reviews.c.id == review_id)).first()
    if row is None:
        raise NotFound(f"no review {review_id}")
    return row


def respond(conn: Connection, version: Version, review_id: int, author: str, text: str) -> None:
    row = _review_row(conn, review_id)
    if row.version_id != version.id:
        raise NotFound(f"no review {review_id} of {version.label}")
    if not text.strip():
        raise InvalidInput("a response needs a text")
    conn.execute(
        update(store_reviews)
        .where(store_reviews.c.id == review_id)
        .values(response=text, response_by=author, response_at=clock_of(conn).now())
    )


def version_of_review(conn: Connection, review_id: int) -> int:
    return int(_review_row(conn, review_id).version_id)


def report(conn: Connection, review_id: int, reporter: str, reason: str) -> int:
    _review_row(conn, review_id)
    if not reason.strip():
        raise InvalidInput("say what is wrong with the review (--reason)")
    key = conn.execute(
        insert(store_abuse_reports).values(
            review_id=review_id, reporter=reporter, reason=reason, created_at=clock_of(conn).now()
        )
    ).inserted_primary_key
    assert key is not None
    return int(key[0])


def resolve(conn: Connection, report_id: int, judge: str, hide: bool, outcome: str) -> None:
    row = conn.execute(
        select(store_abuse_reports).where(store_abuse_reports.c.id == report_id)
    ).first()
    if row is None:
        raise NotFound(f"no abuse report {report_id}")
    if row.resolved_at is not None:
        raise Conflict(f"abuse report {report_id} was already resolved: {row.outcome}")
    if not outcome.strip():
        raise InvalidInput("a resolution needs a reason (--reason)")
    conn.execute(
        update(store_abuse_reports)
        .where(store_abuse_reports.c.id == report_id)
        .values(resolved_by=judge, resolved_at=clock_of(conn).now(), outcome=outcome)
    )
    conn.execute(
        update(store_reviews).where(store_reviews.c.id == row.review_id).values(hidden=hide)
    )


def open_reports(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(store_abuse_reports)
        .where(store_abuse_reports.c.resolved_at.is_(None))
        .order_by(store_abuse_reports.c.id)
    ).mappings()
    return [plain(r) for r in rows]


def of_versions(conn: Connection, versions: list[Version]) -> list[Review]:
    """The visible reviews of these versions, newest first."""
    by_id = {v.id: v for v in versions}
    if not by_id:
        return []
    rows = conn.execute(
        select(store_reviews, organisations.c.name.label("organisation"))
        .join(organisations, organisations.c.id == store_reviews.c.org_id)
        .where(store_reviews.c.version_id.in_(list(by_id)), store_reviews.c.hidden.is_(False))
        .order_by(store_reviews.c.updated_at.desc(), store_reviews.c.id.desc())
    )
    return [
        Review(
            r.id,
            by_id[r.version_id].app_id,
            by_id[r.version_id].version,
            r.organisation,
            r.author,
            r.rating,
            r.text,
            r.created_at,
            r.response,
            r.response_by,
            r.hidden,
        )
        for r in rows
    ]
