"""Importing a file into a twin: one dataset, one edit, one transaction."""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, select, text, update

from tweeling.errors import InputFileError
from tweeling.storage.db import Database, clock_of
from tweeling.storage.schema import datasets, edits, geometry_templates
from tweeling.twin.crs import CRS84, DUTCH_DEFAULT, is_geographic
from tweeling.twin.importers import ImportSource, importer_for
from tweeling.twin.model import GeometryTemplate
from tweeling.twin.pipeline import BatchPreparer, Prepared, prepared_batches, workers_for
from tweeling.twin.quality import Profile
from tweeling.twin.twins import (
    Twin,
    create_twin,
    default_author,
    find_twin,
    get_scenario,
    next_seq,
)
from tweeling.twin.views import is_empty, resolve, view_of

Progress = Callable[[int, int], None]  # (bytes read, total bytes)


@dataclass
class IngestReport:
    twin: str
    scenario: str
    dataset_id: int
    format: str
    version: str
    crs: str
    twin_crs: str
    created_twin: bool
    objects: int
    counts: dict[str, int]
    content_hash: str
    warnings: list[str] = field(default_factory=list)


@dataclass
class DatasetInfo:
    """What the user tells about a dataset besides its content."""

    name: str | None = None
    source: str | None = None
    owner: str | None = None
    licence: str | None = None
    acquired: str | None = None


def ingest(
    db: Database,
    path: Path,
    twin_name: str,
    *,
    crs: str | None = None,
    twin_crs: str | None = None,
    scenario: str = "current",
    info: DatasetInfo | None = None,
    author: str | None = None,
    owner_org_id: int | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Read ``path`` into ``twin_name`` (created when missing) as one all-or-nothing import."""
    info = info or DatasetInfo()
    author = author or default_author()
    source = importer_for(path).open(path, crs)
    if source.crs is None:
        raise InputFileError(
            path,
            f"no CRS declared in the file; pass --crs EPSG:<code> "
            f"(RD New + NAP is {DUTCH_DEFAULT})",
        )
    total = path.stat().st_size
    with db.begin() as conn:
        twin = find_twin(conn, twin_name)
        created = twin is None
        if twin is None:
            chosen = twin_crs or (source.crs if not is_geographic(source.crs) else None)
            if chosen is None:
                raise InputFileError(
                    path,
                    f"the data is in {source.crs} and twin {twin_name!r} does not exist yet: "
                    f"choose the twin's projected CRS with --twin-crs (e.g. {DUTCH_DEFAULT})",
                )
            twin = create_twin(conn, twin_name, chosen, author=author, owner_org_id=owner_org_id)
        target = get_scenario(conn, twin, scenario)
        seq = next_seq(conn, twin)
        templates = store_templates(conn, twin, source.templates)
        dataset_id = conn.execute(
            insert(datasets)
            .values(
                twin_id=twin.id,
                scenario_id=target.id,
                seq=seq,
                name=info.name or path.name,
                format=source.format,
                source=info.source or str(path.resolve()),
                owner=info.owner,
                licence=info.licence,
                acquired=info.acquired,
                crs=source.crs,
                object_count=0,
                counts={},
                quality={},
                meta={},
                imported_by=author,
                imported_at=clock_of(conn).now(),
            )
            .returning(datasets.c.id)
        ).scalar_one()
        profile = Profile()
        preparer = BatchPreparer(source.crs, twin.crs, templates, target.id, seq, dataset_id)
        view = view_of(conn, target)
        check_existing = not is_empty(conn, view)
        for batch in _without_gc(prepared_batches(source, preparer, workers_for(source, total))):
            if check_existing:
                existing = resolve(conn, view, batch.ids)
                if existing:
                    raise InputFileError(
                        path,
                        f"object id {next(iter(existing))!r} already exists in twin {twin.name!r}",
                    )
            db.backend.insert_objects(conn, batch.rows)
            profile.merge(batch.profile)
            if progress:
                progress(source.bytes_read(), total)
        content_hash = dataset_hash(conn, dataset_id, path)
        db.backend.refresh_statistics(conn)
        meta = _dataset_meta(source)
        if source.warnings():
            meta["warnings"] = source.warnings()
        conn.execute(
            update(datasets)
            .where(datasets.c.id == dataset_id)
            .values(
                meta=meta,
                content_hash=content_hash,
                object_count=profile.total,
                counts=profile.counts(),
                quality=profile.quality(),
            )
        )
        conn.execute(
            insert(edits).values(
                twin_id=twin.id,
                seq=seq,
                scenario_id=target.id,
                kind="import",
                author=author,
                reason=f"import {path.name}",
                dataset_id=dataset_id,
                added=profile.total,
                modified=0,
                deleted=0,
                created_at=clock_of(conn).now(),
            )
        )
    return IngestReport(
        twin=twin.name,
        scenario=target.name,
        dataset_id=dataset_id,
        format=source.format,
        version=source.version,
        crs=source.crs,
        twin_crs=twin.crs,
        created_twin=created,
        objects=profile.total,
        counts=profile.counts(),
        content_hash=content_hash,
        warnings=source.warnings(),
    )


def _without_gc(batches: Iterator[Prepared]) -> Iterator[Prepared]:
    """Pause the cyclic garbage collector while batches stream through.

    Import batches are large acyclic trees; the collector would rescan them again and again
    (a third of the import time), while reference counting frees them on its own.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield from batches
    finally:
        if enabled:
            gc.enable()


def store_templates(
    conn: Connection, twin: Twin, templates: list[GeometryTemplate]
) -> dict[str, GeometryTemplate]:
    """Register the file's templates with the twin (content-addressed: stored once)."""
    stored = load_templates(conn, twin)
    for tpl in templates:
        if tpl.key not in stored:
            conn.execute(
                insert(geometry_templates).values(
                    twin_id=twin.id,
                    key=tpl.key,
                    template={"geometry": tpl.geometry, "vertices": tpl.vertices},
                )
            )
            stored[tpl.key] = tpl
    return stored


def load_templates(conn: Connection, twin: Twin) -> dict[str, GeometryTemplate]:
    rows = conn.execute(
        select(geometry_templates.c.key, geometry_templates.c.template)
        .where(geometry_templates.c.twin_id == twin.id)
        .order_by(geometry_templates.c.id)  # a stable template order in every export
    )
    return {key: GeometryTemplate(key, tpl["geometry"], tpl["vertices"]) for key, tpl in rows}


def dataset_hash(conn: Connection, dataset_id: int, path: Path | None = None) -> str:
    """SHA-256 over (id, object hash) pairs in id order: equal content, equal hash.

    The same pass finds ids that occur twice in one dataset.
    """
    digest = hashlib.sha256()
    result = conn.execute(
        text(
            "SELECT object_id, content_hash FROM city_objects WHERE dataset_id = :d "
            "ORDER BY object_id"
        ),
        {"d": dataset_id},
        execution_options={"stream_results": True, "yield_per": 5000},
    )
    previous = None
    for object_id, object_hash in result:
        if object_id == previous:
            result.close()
            raise InputFileError(
                path or "dataset", f"object id {object_id!r} occurs more than once"
            )
        previous = object_id
        digest.update(f"{object_id}\t{object_hash}\n".encode())
    return digest.hexdigest()


def _dataset_meta(source: ImportSource) -> dict[str, Any]:
    meta: dict[str, Any] = {"version": source.version}
    if source.metadata:
        meta["metadata"] = source.metadata
    if source.extensions:
        meta["extensions"] = source.extensions
    if source.crs == CRS84:
        meta["note"] = "coordinates were CRS84 and are stored in the twin's CRS"
    return meta
