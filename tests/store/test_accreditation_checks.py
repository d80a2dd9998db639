"""The automated intake checks on the reference twin: the reference apps pass, and each
deliberately bad app (kept as fixtures: the misbehaving app with another default) fails for
its own reason, on record."""

from __future__ import annotations

import io
import re
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.apps.conftest import MISBEHAVING
from tweeling.access import identity
from tweeling.access.identity import Principal, Role
from tweeling.api.app import create_app
from tweeling.apps import packages
from tweeling.apps.executors import LocalExecutor
from tweeling.apps.packages import Package
from tweeling.apps.runs import Runtime
from tweeling.errors import Conflict, Forbidden, InvalidInput
from tweeling.services import accreditation, store
from tweeling.storage.db import Database
from tweeling.store.accreditation import checks, criteria
from tweeling.store.lifecycle import State

APPS = Path(__file__).resolve().parents[2] / "apps"


def _bad(folder: Path, behaviour: str) -> Path:
    """The misbehaving fixture app as its own app that misbehaves by default."""
    app = folder / f"bad-{behaviour}"
    shutil.copytree(MISBEHAVING, app, ignore=shutil.ignore_patterns("__pycache__"))
    manifest = app / "tweeling-app.toml"
    text = manifest.read_text().replace('id = "misbehaving"', f'id = "bad-{behaviour}"')
    text = re.sub(r'default = "none"', f'default = "{behaviour}"', text)
    manifest.write_text(text)
    return app


@pytest.fixture(scope="module")
def pipeline(
    module_db: Database, samples: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict]:  # type: ignore[type-arg]
    db = module_db
    folder = tmp_path_factory.mktemp("apps")
    with db.begin() as conn:
        identity.bootstrap(conn)
        provider = identity.create_organisation(conn, "Stadslab BV", "provider", actor="t")
        master = identity.get_organisation(conn, identity.MARKET_MASTER)
    packages.generate_key(folder / "key.pem")
    key = packages.load_key(folder / "key.pem")
    developer = Principal(0, "dev@stadslab.nl", provider, frozenset({Role.developer}))
    admin = Principal(0, identity.FIRST_ADMIN, master, frozenset({Role.admin}))
    sources = {"solar-potential": APPS / "solar-potential"}
    for behaviour in (
        "socket", "nondeterministic", "memory", "wrong-type", "undeclared-layer", "fragile"
    ):  # fmt: skip
        sources[f"bad-{behaviour}"] = _bad(folder, behaviour)
    for path in sources.values():
        store.publish(db, developer, packages.from_path(path, key))
    executor = LocalExecutor(slots=1)
    runtime = Runtime(db, executor, folder / "home")
    yield {"db": db, "runtime": runtime, "admin": admin, "samples": samples, "dev": developer}
    executor.close()


def _round(pipeline: dict, ref: str) -> accreditation.Round:  # type: ignore[type-arg]
    return accreditation.run_checks(
        pipeline["runtime"], pipeline["admin"], ref, pipeline["samples"]
    )


def test_the_reference_app_passes_the_checks(pipeline: dict) -> None:  # type: ignore[type-arg]
    done = _round(pipeline, "solar-potential@0.1.0")
    verdicts = {r.check: r.passed for r in done.results}
    assert done.passed, [r.summary for r in done.failed]
    assert all(verdicts[c] for c in ("integrity", "conformance", "sandbox", "resources"))
    assert verdicts["determinism"] and verdicts["provenance"] and verdicts["licence"]
    robustness = next(r for r in done.results if r.check == "robustness")
    assert robustness.passed  # an empty buildings layer gives a clear error, not a crash
    assert robustness.evidence["empty layer"]["status"] == "failed"
    assert "no 3D geometry" in robustness.evidence["empty layer"]["message"]
    assert verdicts["reference-cases"] is None  # not automated yet, said so
    resources = next(r for r in done.results if r.check == "resources")
    assert resources.evidence["declared"]["memory_mb"] == 3072
    assert 0 < resources.evidence["measured"]["peak_rss_mb"] < 3072
    again = accreditation.latest_round(pipeline["db"], "solar-potential@0.1.0")
    assert again is not None and again.round == 1 and again.passed
    view = store.show(pipeline["db"], pipeline["admin"], "solar-potential@0.1.0")
    assert view.versions[0].state == State.checks
    assert view.decisions["0.1.0"][-1]["reason"] == "automated checks, round 1: failed none"


@pytest.mark.parametrize(
    ("app", "check", "reason"),
    [
        ("bad-socket", "sandbox", "refused 1 attempt(s) (network)"),
        ("bad-nondeterministic", "determinism", "two runs on the same data gave different"),
        ("bad-memory", "resources", "beyond its declaration: ran out of its memory limit"),
        ("bad-wrong-type", "conformance", "outputs do not match the manifest"),
        ("bad-undeclared-layer", "conformance", "reads data it does not declare"),
        ("bad-fragile", "robustness", "crashed on empty layer: the app failed: ZeroDivisionError"),
    ],
)
def test_each_bad_app_fails_for_its_own_reason(
    pipeline: dict,
    app: str,
    check: str,
    reason: str,  # type: ignore[type-arg]
) -> None:
    done = _round(pipeline, f"{app}@1.0.0")
    failed = {r.check: r.summary for r in done.failed}
    assert check in failed, failed
    assert reason in failed[check]
    assert not done.passed


def test_integrity_catches_unsigned_and_tampered_packages(pipeline: dict) -> None:  # type: ignore[type-arg]
    unsigned = packages.from_path(APPS / "solar-potential")
    assert checks.integrity(unsigned).summary == "the package is not signed"
    signed = packages.from_path(APPS / "solar-potential", packages.load_key(
        next(Path(p) for p in [pipeline["runtime"].home.parent / "key.pem"])
    ))  # fmt: skip
    assert checks.integrity(signed).passed
    changed = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(signed.archive)) as source,
        zipfile.ZipFile(changed, "w") as target,
    ):
        for item in source.infolist():
            data = source.read(item)
            if item.filename.endswith("app.py"):
                data += b"\nimport socket  # a backdoor\n"
            target.writestr(item, data)
    tampered = Package(signed.manifest, signed.content_hash, changed.getvalue(), signed.signature)
    result = checks.integrity(tampered)
    assert result.passed is False and "does not verify" in result.summary
    foreign = checks.integrity(signed, registered_keys={"someone-else"})
    assert foreign.passed is False and "not registered" in foreign.summary


def test_scored_review_decision_report_and_trust_score(pipeline: dict) -> None:  # type: ignore[type-arg]
    db, admin = pipeline["db"], pipeline["admin"]
    ref = "solar-potential@0.1.0"
    if accreditation.latest_round(db, ref) is None:
        _round(pipeline, ref)
    with db.begin() as conn:
        tno = identity.create_organisation(conn, "Keurmerk Instituut", "accreditor", actor="t")
        identity.create_organisation(conn, "Adviesbureau X", "provider", actor="t")
        rival = identity.create_organisation(conn, "Concurrent Keur", "accreditor", actor="t")
    with pytest.raises(InvalidInput, match="is a provider, not an accreditor"):
        accreditation.assign(db, admin, ref, ["Adviesbureau X"])
    # an accreditor that publishes apps itself has a conflict of interest with publishers
    rival_dev = Principal(0, "dev@concurrent.nl", rival, frozenset({Role.developer}))
    other = packages.from_path(APPS / "sun-hours-and-shade", packages.load_key(
        pipeline["runtime"].home.parent / "key.pem"))  # fmt: skip
    store.publish(db, rival_dev, other)
    with pytest.raises(Conflict, match="conflict of interest"):
        accreditation.assign(db, admin, ref, ["Concurrent Keur"])
    assert accreditation.assign(db, admin, ref, ["Keurmerk Instituut"]) == ["Keurmerk Instituut"]
    assert store.show(db, admin, ref).versions[0].state == State.under_review

    reviewer = Principal(0, "beoordelaar@keurmerk.nl", tno, frozenset({Role.reviewer}))
    with pytest.raises(Forbidden, match="only reviewers of an accreditor assigned"):
        accreditation.score(db, pipeline["dev"], ref, "TEC-2", 5, "my own app is great")
    with pytest.raises(InvalidInput, match="written evidence"):
        accreditation.score(db, reviewer, ref, "TEC-2", 4, " ")
    with pytest.raises(Conflict, match="criteria not scored"):
        accreditation.decide(db, admin, ref, "accredited", "too early")
    framework = criteria.framework()
    for criterion in framework.criteria:
        low = criterion.id == "ECO-2"
        value = criterion.norm - 1 if low else max(criterion.norm, 4)
        accreditation.score(db, reviewer, ref, criterion.id, value, f"checked {criterion.id}")
    blocked = accreditation.report(db, ref)
    assert blocked["verdict"]["reasons"] == ["criteria below their norm: ECO-2"]
    with pytest.raises(Conflict, match="below their norm: ECO-2"):
        accreditation.decide(db, admin, ref, "accredited", "almost")
    accreditation.score(db, reviewer, ref, "ECO-2", 4, "exports in open formats, checked")
    doc = accreditation.report(db, ref)
    assert doc["verdict"] == {"accreditable": True, "reasons": []}
    tec2 = next(c for c in doc["criteria"] if c["id"] == "TEC-2")
    assert tec2["source"] == "ISO/IEC 25010 product quality model"
    assert tec2["assessments"][0]["accreditor"] == "Keurmerk Instituut"
    # formula: every reliability and traceability criterion scored; the checks all passed
    trust = doc["trust"]
    tec = {c["id"]: c["score"] for c in doc["criteria"]}
    reliability = 0.5 * sum(tec[c] / 5 for c in ("TEC-2", "TEC-3", "TEC-4", "TEC-5")) / 4 + 0.5
    traceability = 0.5 * sum(tec[c] / 5 for c in ("TEC-7", "SOC-1", "MAN-1")) / 3 + 0.5
    assert trust["trust"] == pytest.approx(100 * (reliability + traceability) / 2, abs=0.1)
    assert "trust = 100" in trust["formula"]
    assert accreditation.decide(db, admin, ref, "accredited", "meets every norm") == "accredited"
    listed = store.find(db, admin, "zonnepanelen")
    assert listed.total == 1
    with TestClient(create_app(db, run_jobs=False)) as client:
        public = client.get("/store/apps/solar-potential/versions/0.1.0/accreditation")
        assert public.status_code == 200 and public.json()["trust"] == trust
        hidden = client.get("/store/apps/bad-socket/versions/1.0.0/accreditation")
        assert hidden.status_code == 404  # not in the store: not public
    last = store.show(db, admin, ref).decisions["0.1.0"][-1]
    assert last["to"] == "approved" and last["reason"].startswith("accredited (trust score")
