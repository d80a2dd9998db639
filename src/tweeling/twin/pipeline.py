"""Preparing import batches — parsed, reprojected, encoded — serially or in worker processes.

Preparing rows is pure CPU work on independent batches, so for large CityJSONSeq files it
runs in a small process pool while the importing process writes to the database. At most a
few batches are in flight, so memory stays bounded by the batch size, not the file size.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.pool import AsyncResult
from typing import Any

from tweeling import settings
from tweeling.storage.backends import ObjectRow
from tweeling.twin.importers import ImportSource
from tweeling.twin.model import CityObject, GeometryTemplate
from tweeling.twin.quality import Profile
from tweeling.twin.rows import object_rows, reproject

PARALLEL_MIN_BYTES = 4 * 1024 * 1024


@dataclass
class Prepared:
    """One batch ready for the database."""

    rows: list[ObjectRow]
    ids: list[str]
    profile: Profile
    dropped_appearance: int = 0


@dataclass
class BatchPreparer:
    """Everything needed to turn city objects into rows; picklable for worker processes."""

    source_crs: str
    twin_crs: str
    templates: dict[str, GeometryTemplate]
    scenario_id: int
    seq: int
    dataset_id: int

    def __call__(self, objects: list[CityObject]) -> Prepared:
        reproject(objects, self.source_crs, self.twin_crs)
        rows = object_rows(
            objects,
            scenario_id=self.scenario_id,
            seq=self.seq,
            dataset_id=self.dataset_id,
            crs=self.twin_crs,
            templates=self.templates,
        )
        profile = Profile()
        profile.add(objects)
        return Prepared(rows, [o.id for o in objects], profile)


def workers_for(source: ImportSource, size: int) -> int:
    """How many worker processes an import should use (0: prepare in this process)."""
    configured = settings.current().runs.import_workers
    if configured is not None:
        return max(0, configured)
    if source.line_chunks is None or size < PARALLEL_MIN_BYTES:
        return 0
    return min(4, os.cpu_count() or 1) if (os.cpu_count() or 1) > 1 else 0


def prepared_batches(
    source: ImportSource, preparer: BatchPreparer, workers: int
) -> Iterator[Prepared]:
    if workers and source.line_chunks is not None and source.parse_lines is not None:
        yield from _parallel(source.line_chunks, source.parse_lines, preparer, workers)
        return
    for batch in source.batches:
        yield preparer(batch)


# Worker-process state, set once by the pool initializer.
_worker: dict[str, Any] = {}


def _init_worker(
    parse: Callable[[list[tuple[int, bytes]]], list[CityObject]], preparer: BatchPreparer
) -> None:
    import gc
    import signal

    # A forked worker inherits its parent's SIGTERM handler; in a server that is uvicorn's,
    # which only asks for a shutdown, so the pool's terminate() would wait on it forever.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    # Batches are short-lived trees of lists and dicts without cycles; the cyclic collector
    # would only rescan them over and over.
    gc.disable()
    _worker["parse"] = parse
    _worker["prepare"] = preparer


def _work(chunk: list[tuple[int, bytes]]) -> Prepared:
    parse = _worker["parse"]
    owner = getattr(parse, "__self__", None)
    before = getattr(owner, "dropped_appearance", 0)
    prepared: Prepared = _worker["prepare"](parse(chunk))
    prepared.dropped_appearance = getattr(owner, "dropped_appearance", 0) - before
    return prepared


def _parallel(
    chunks: Iterator[list[tuple[int, bytes]]],
    parse: Callable[[list[tuple[int, bytes]]], list[CityObject]],
    preparer: BatchPreparer,
    workers: int,
) -> Iterator[Prepared]:
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    owner = getattr(parse, "__self__", None)
    with context.Pool(workers, initializer=_init_worker, initargs=(parse, preparer)) as pool:
        pending: deque[AsyncResult[Prepared]] = deque()
        for chunk in chunks:
            pending.append(pool.apply_async(_work, (chunk,)))
            if len(pending) > 2 * workers:
                yield _collected(pending.popleft().get(), owner)
        while pending:
            yield _collected(pending.popleft().get(), owner)


def _collected(prepared: Prepared, owner: object) -> Prepared:
    if owner is not None and prepared.dropped_appearance:
        owner.dropped_appearance += prepared.dropped_appearance  # type: ignore[attr-defined]
    return prepared
