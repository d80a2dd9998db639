"""Datasets on behalf of a principal: read (and logged as used), import, correct, withdraw,
export."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select, text

from tweeling.access.audit import acted, record
from tweeling.access.identity import Principal
from tweeling.access.policy import Action, Kind, Resource, authorize
from tweeling.errors import InvalidInput, NotFound, UnsupportedMediaType
from tweeling.services.twins import authorised_twin, twin_info
from tweeling.services.usage import record_use, recorder
from tweeling.storage.db import Database, clock_of
from tweeling.storage.schema import datasets
from tweeling.twin import importers
from tweeling.twin import scenarios as core
from tweeling.twin import twins as core_twins
from tweeling.twin.export import FORMATS as FORMATS
from tweeling.twin.export import export
from tweeling.twin.ingest import DatasetInfo as DatasetInfo
from tweeling.twin.ingest import IngestReport as IngestReport
from tweeling.twin.ingest import ingest
from tweeling.twin.twins import Twin, get_scenario
from tweeling.twin.views import count_by_type, view_of


def twin_datasets(
    db: Database, principal: Principal, name: str, purpose: str | None = None
) -> list[dict[str, Any]]:
    """The twin's datasets with their metadata; each read is written to the usage log."""
    twin = authorised_twin(db, principal, name, Kind.dataset, Action.read, purpose)
    with db.read() as conn:
        rows = [
            {str(k): v for k, v in r.items()}
            for r in conn.execute(
                select(datasets).where(datasets.c.twin_id == twin.id).order_by(datasets.c.id)
            ).mappings()
        ]
    recorder(db).record(principal, twin.id, purpose, "read")
    return rows


def upload_suffix(media_type: str) -> str:
    """The file suffix an upload sent as ``media_type`` is spooled under: the registered
    importer's for that media type; any other is refused, naming the ones accepted."""
    importer = importers.importer_for_media_type(media_type)
    if importer is None:
        accepted = ", ".join(importers.media_types())
        raise UnsupportedMediaType(
            f"send the file with Content-Type {accepted} (got {media_type or 'none'})"
        )
    return importer.suffix


def may_import(db: Database, principal: Principal, twin_name: str) -> None:
    """Raise unless ``principal`` may add datasets to the twin: asked before an upload's
    body is read, so a body nobody may send is never received."""
    authorised_twin(db, principal, twin_name, Kind.dataset, Action.create, None)


def import_dataset(
    db: Database,
    principal: Principal,
    twin_name: str,
    path: Path,
    *,
    crs: str | None = None,
    info: DatasetInfo | None = None,
) -> IngestReport:
    """Import a file into an existing twin as a new dataset."""
    authorised_twin(db, principal, twin_name, Kind.dataset, Action.create, None)
    return ingest_file(db, principal, path, twin_name, owner_org_id=None, crs=crs, info=info)


def _dataset(conn: Connection, twin: Twin, dataset_id: int) -> dict[str, Any]:
    row = (
        conn.execute(
            select(datasets).where(datasets.c.id == dataset_id, datasets.c.twin_id == twin.id)
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"twin {twin.name!r} has no dataset {dataset_id}")
    return {str(k): v for k, v in row.items()}


DATASET_FIELDS = ("name", "source", "owner", "licence", "acquired")


def update_dataset(
    db: Database, principal: Principal, twin_name: str, dataset_id: int, fields: dict[str, Any]
) -> None:
    """Correct a dataset's descriptive metadata (its content and hash stay as imported)."""
    unknown = set(fields) - set(DATASET_FIELDS)
    if unknown:
        raise InvalidInput(f"cannot change {', '.join(sorted(unknown))} of a dataset")
    twin = authorised_twin(db, principal, twin_name, Kind.dataset, Action.update, None)
    with db.begin() as conn:
        _dataset(conn, twin, dataset_id)
        conn.execute(datasets.update().where(datasets.c.id == dataset_id).values(**fields))
        record(
            conn,
            acted(principal, "dataset.update", f"twin:{twin_name}/dataset:{dataset_id}", fields),
        )


def delete_dataset(db: Database, principal: Principal, twin_name: str, dataset_id: int) -> int:
    """Withdraw a dataset: its objects leave the current reality as one recorded edit.

    Scenarios made earlier keep seeing them, as they were; the dataset's record stays for
    provenance, marked withdrawn. Returns the number of objects removed.
    """
    twin = authorised_twin(db, principal, twin_name, Kind.dataset, Action.delete, None)
    with db.read() as conn:
        _dataset(conn, twin, dataset_id)
        current = view_of(conn, get_scenario(conn, twin, "current"))
        condition, params = current.visible("o")
        ids = [
            r[0]
            for r in conn.execute(
                text(
                    f"SELECT o.object_id FROM city_objects o WHERE {condition} "
                    "AND NOT o.deleted AND o.dataset_id = :d AND o.parents IS NULL"
                ),
                {**params, "d": dataset_id},
            )
        ]
    removed = 0
    if ids:
        result = core.edit(
            db,
            twin_name,
            "current",
            core.Changes(delete=ids),
            reason=f"dataset {dataset_id} withdrawn",
            author=principal.email,
        )
        removed = result.deleted
    with db.begin() as conn:
        meta = dict(_dataset(conn, twin, dataset_id)["meta"] or {})
        meta["withdrawn"] = {"at": clock_of(conn).now().isoformat(), "by": principal.email}
        conn.execute(datasets.update().where(datasets.c.id == dataset_id).values(meta=meta))
        record(
            conn,
            acted(
                principal,
                "dataset.delete",
                f"twin:{twin_name}/dataset:{dataset_id}",
                {"objects_removed": removed},
            ),
        )
    return removed


def ingest_file(
    db: Database,
    principal: Principal,
    path: Path,
    twin_name: str,
    *,
    owner_org_id: int | None,
    **options: Any,
) -> IngestReport:
    """Import a file into a twin, creating the twin (for ``owner_org_id``) when it is new."""
    with db.read() as conn:
        exists = core_twins.find_twin(conn, twin_name) is not None
    if exists:
        authorised_twin(db, principal, twin_name, Kind.dataset, Action.create, None)
    else:
        authorize(
            db,
            principal,
            Action.create,
            Resource(Kind.twin, f"twin:{twin_name}", owner_org_id=owner_org_id),
        )
    report = ingest(
        db, path, twin_name, author=principal.email, owner_org_id=owner_org_id, **options
    )
    with db.begin() as conn:
        record(
            conn,
            acted(
                principal,
                "dataset.import",
                f"twin:{twin_name}/dataset:{report.dataset_id}",
                {
                    "objects": report.objects,
                    "file": path.name,
                    "content_hash": report.content_hash,
                },
            ),
        )
    return report


def scenario_size(
    db: Database,
    principal: Principal,
    twin_name: str,
    scenario: str = "current",
    purpose: str | None = None,
) -> int:
    """How many city objects a scenario holds (an export's progress total), for whoever may
    read the twin; nothing is counted for an unseen twin."""
    twin_info(db, principal, twin_name, purpose)
    with db.read() as conn:
        view = view_of(conn, get_scenario(conn, core_twins.get_twin(conn, twin_name), scenario))
        return sum(count_by_type(conn, view).values())


def synthesise_city(
    output: Path, buildings: int, *, seed: int = 1, progress: Callable[[int], None] | None = None
) -> dict[str, int]:
    """A reproducible synthetic Dutch-like city written as CityJSONSeq (no twin involved);
    counts per object type."""
    from tweeling.twin.synth import write_cityjsonseq  # numpy-heavy: only when asked for

    return write_cityjsonseq(output, buildings, seed=seed, on_progress=progress)


def export_scenario(
    db: Database,
    principal: Principal,
    twin_name: str,
    fmt: str,
    out: Path,
    *,
    scenario: str = "current",
    purpose: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write a scenario to a file; counts as a read of every dataset of the twin."""
    twin = authorised_twin(db, principal, twin_name, Kind.dataset, Action.read, purpose)
    written = export(db, twin_name, fmt, out, scenario=scenario, progress=progress)
    with db.begin() as conn:
        record_use(conn, principal, twin.id, purpose, f"export:{fmt}")
    return written
