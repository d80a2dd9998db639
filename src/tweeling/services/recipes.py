"""Running recipes on behalf of a principal: each step an ordinary, authorised app run."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prov.model import ProvDocument
from sqlalchemy import insert, select, update

from tweeling.access.audit import acted, record
from tweeling.access.identity import Principal
from tweeling.access.policy import Action, Kind
from tweeling.apps import packages, runs
from tweeling.apps.manifest import Manifest
from tweeling.apps.provenance import chain_document
from tweeling.apps.recipes import Recipe, Step, order_steps
from tweeling.apps.sandbox import SUCCESSFUL, RunStatus
from tweeling.errors import NotFound
from tweeling.services import apps as app_service
from tweeling.services.twins import authorised_twin
from tweeling.storage.db import Database, clock_of
from tweeling.storage.schema import recipe_runs, twins
from tweeling.twin.twins import get_scenario, scenario_by_id


@dataclass
class RecipeRecord:
    run_id: str
    name: str
    twin: str
    scenario: str
    recipe_hash: str
    recipe: dict[str, Any]
    purpose: str | None
    actor: str
    status: str
    message: str | None
    created_at: datetime
    ended_at: datetime | None
    steps: list[runs.RunRecord]

    def as_json(self) -> dict[str, Any]:
        doc = {k: v for k, v in self.__dict__.items() if k != "steps"}
        doc["created_at"] = self.created_at.isoformat()
        doc["ended_at"] = self.ended_at.isoformat() if self.ended_at else None
        doc["steps"] = [s.as_json(with_outputs=False) for s in self.steps]
        return doc

    def prov(self) -> ProvDocument:
        return chain_document(
            [s.as_json() for s in self.steps], {"name": self.name, "hash": self.recipe_hash}
        )


def _resolve(installed: dict[str, Manifest], twin_name: str, step: Step) -> tuple[Step, Manifest]:
    """The step with its app's manifest: an app folder's own, or the installed app's."""
    if step.path is not None:
        return step, packages.from_path(step.path).manifest
    manifest = installed.get(str(step.app))
    if manifest is None:
        raise NotFound(f"app {str(step.app)!r} is not installed in twin {twin_name!r}")
    return step, manifest


def run_recipe(
    runtime: runs.Runtime,
    principal: Principal,
    twin_name: str,
    recipe: Recipe,
    *,
    scenario: str = "current",
    purpose: str | None = None,
) -> RecipeRecord:
    """Run the recipe's steps in dependency order; stop at the first step that fails."""
    db = runtime.db
    authorised_twin(db, principal, twin_name, Kind.dataset, Action.read, purpose)
    twin = authorised_twin(db, principal, twin_name, Kind.scenario, Action.update, purpose)
    installed = {
        m.id: m for m, _ in app_service.installed_manifests(db, principal, twin_name, purpose)
    }
    with db.read() as conn:
        target = get_scenario(conn, twin, scenario)
    ordered = order_steps([_resolve(installed, twin_name, s) for s in recipe.steps])
    recipe_id = str(uuid.uuid4())
    with db.begin() as conn:
        conn.execute(
            insert(recipe_runs).values(
                run_id=recipe_id,
                twin_id=twin.id,
                scenario_id=target.id,
                name=recipe.name,
                recipe=recipe.source,
                recipe_hash=recipe.content_hash,
                purpose=purpose,
                actor=principal.actor,
                status=runs.RUNNING,
                created_at=clock_of(conn).now(),
            )
        )
    status, message = SUCCESSFUL, None
    for index, (step, manifest) in enumerate(ordered):
        run_id = app_service.submit(
            runtime,
            principal,
            twin_name,
            scenario=scenario,
            app_id=step.app,
            package=packages.from_path(step.path) if step.path is not None else None,
            overrides=step.parameters,
            purpose=purpose,
            recipe_run_id=recipe_id,
            step=index,
        )
        done = runs.execute(runtime, run_id)
        if done.status != SUCCESSFUL:
            status = RunStatus.failed
            message = f"step {index + 1} ({manifest.id}) ended {done.status}: {done.message}"
            break
    with db.begin() as conn:
        conn.execute(
            update(recipe_runs)
            .where(recipe_runs.c.run_id == recipe_id)
            .values(status=status, message=message, ended_at=clock_of(conn).now())
        )
        record(
            conn,
            acted(
                principal,
                "recipe.run",
                f"twin:{twin.name}/{scenario}",
                {"recipe": recipe.name, "run": recipe_id, "status": status},
            ),
        )
    return get_recipe_run(db, principal, recipe_id)


def get_recipe_run(db: Database, principal: Principal, run_id: str) -> RecipeRecord:
    with db.read() as conn:
        row = conn.execute(
            select(recipe_runs, twins.c.name.label("twin_name"))
            .join(twins, twins.c.id == recipe_runs.c.twin_id)
            .where(recipe_runs.c.run_id == run_id)
        ).first()
        if row is None:
            raise NotFound(f"no run {run_id!r}")
        scenario = scenario_by_id(conn, row.scenario_id).name
    try:
        authorised_twin(db, principal, row.twin_name, Kind.scenario, Action.read, row.purpose)
    except NotFound:
        raise NotFound(f"no run {run_id!r}") from None

    def when(value: Any) -> Any:
        return datetime.fromisoformat(value) if isinstance(value, str) else value

    return RecipeRecord(
        run_id=row.run_id,
        name=row.name,
        twin=row.twin_name,
        scenario=scenario,
        recipe_hash=row.recipe_hash,
        recipe=row.recipe,
        purpose=row.purpose,
        actor=row.actor,
        status=row.status,
        message=row.message,
        created_at=when(row.created_at),
        ended_at=when(row.ended_at),
        steps=app_service.recipe_steps(db, run_id),
    )
