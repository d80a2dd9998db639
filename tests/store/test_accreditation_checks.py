"""The accreditation pipeline on a real database: the automated checks on the reference
twins (the reference app passes; each deliberately bad app — kept as fixtures: the
misbehaving app with another default — fails for its own reason, on record), the review,
the decision and the public report, spot checks and resubmission."""

from __future__ import annotations

import io
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from tweeling.access import identity
from tweeling.access.identity import Principal, Role
from tweeling.access.keys import public_hex
from tweeling.api.app import create_app
from tweeling.apps import packages
from tweeling.apps.executors import LocalExecutor
from tweeling.apps.runs import Runtime
from tweeling.errors import Conflict, Forbidden, InputFileError, InvalidInput
from tweeling.services import accreditation, store
from tweeling.storage.db import Database
from tweeling.storage.schema import app_packages, audit_log
from tweeling.store.accreditation import checks, criteria
from tweeling.store.lifecycle import State

from .bad_apps import bad_app

APPS = Path(__file__).resolve().parents[2] / "apps"


BAD = (
    "socket", "write", "spawn", "nondeterministic", "memory", "wrong-type", "undeclared-layer",
    "fragile", "wrong-reference", "unregistered-key",
)  # fmt: skip


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
    public = packages.generate_key(folder / "key.pem")
    key = packages.load_key(folder / "key.pem")
    packages.generate_key(folder / "stranger.pem")
    stranger = packages.load_key(folder / "stranger.pem")
    developer = Principal(0, "dev@stadslab.nl", provider, frozenset({Role.developer}))
    admin = Principal(0, identity.FIRST_ADMIN, master, frozenset({Role.admin}))
    # the publisher's key is registered by the market master's administrator
    store.register_key(db, admin, public, "release key", "Stadslab BV")
    with pytest.raises(Forbidden):  # a developer may not register keys for its organisation
        store.register_key(db, developer, public, "mine", "Stadslab BV")
    sources = {"solar-potential": APPS / "solar-potential"}
    for behaviour in BAD:
        sources[f"bad-{behaviour}"] = bad_app(folder, behaviour)
    for app, path in sources.items():
        signer = stranger if app == "bad-unregistered-key" else key
        version = store.publish(db, developer, packages.from_path(path, signer))
        assert version.state == State.draft
        accreditation.submit(db, developer, version.label)
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
    cases = next(r for r in done.results if r.check == "reference-cases")
    assert cases.passed and cases.summary.startswith("1 case(s), 3 expected value(s) within")
    roof = cases.evidence["cases"][0]["values"][0]
    assert roof["output"] == "roof_irradiation_kwh_m2[lone-building]"
    assert roof["got"] == pytest.approx(1032.3, rel=0.01)
    conformance = next(r for r in done.results if r.check == "conformance")
    assert set(conformance.evidence) == {"reference-delft", "reference-district"}
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
        ("bad-write", "sandbox", "(write-outside-workdir)"),
        ("bad-spawn", "sandbox", "(spawn-process)"),
        ("bad-nondeterministic", "determinism", "two runs on the same data gave different"),
        ("bad-memory", "resources", "beyond its declaration: ran out of its memory limit"),
        ("bad-wrong-type", "conformance", "outputs do not match the manifest"),
        ("bad-undeclared-layer", "conformance", "reads data it does not declare"),
        ("bad-fragile", "robustness", "crashed on empty layer: the app failed: ZeroDivisionError"),
        ("bad-wrong-reference", "reference-cases", "score[lone-building] off by 0.25 (allowed 0)"),
        ("bad-unregistered-key", "integrity", "signed with a key the publisher has not registered"),
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
    if app not in ("bad-nondeterministic", "bad-wrong-type", "bad-undeclared-layer", "bad-fragile"):
        # only its own check fails; checks whose question a broken run cannot answer say so
        assert set(failed) == {check}, failed
    with pytest.raises(Conflict, match="failed automated checks"):
        accreditation.assign(pipeline["db"], pipeline["admin"], f"{app}@1.0.0", ["x"])
    report = accreditation.report(pipeline["db"], f"{app}@1.0.0")
    assert f"automated checks failed: {', '.join(failed)}" in report["verdict"]["reasons"]
    assert accreditation.decide(pipeline["db"], pipeline["admin"], f"{app}@1.0.0", "rejected",
                                f"failed {check}") == "rejected"  # fmt: skip


def _tampered(archive: bytes) -> bytes:
    changed = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(archive)) as source, zipfile.ZipFile(changed, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename.endswith("app.py"):
                data += b"\nimport socket  # a backdoor\n"
            target.writestr(item, data)
    return changed.getvalue()


def test_unsigned_and_tampered_packages_are_refused(
    pipeline: dict,
    tmp_path: Path,  # type: ignore[type-arg]
) -> None:
    db, dev = pipeline["db"], pipeline["dev"]
    key = packages.load_key(pipeline["runtime"].home.parent / "key.pem")
    app = bad_app(tmp_path, "tampered")
    unsigned = packages.from_path(app)
    with pytest.raises(InvalidInput, match="is not signed; the store takes signed packages only"):
        store.publish(db, dev, unsigned)
    assert checks.integrity(unsigned, set()).summary == "the package is not signed"
    signed = packages.from_path(app, key)
    with pytest.raises(InputFileError, match="signature"):  # tampered on its way to the store
        packages.read(_tampered(signed.archive), "uploaded package")
    # tampered in the store's own storage, after publication: the integrity check finds it
    version = store.publish(db, dev, signed)
    accreditation.submit(db, dev, version.label)
    with db.begin() as conn:
        conn.execute(
            update(app_packages)
            .where(app_packages.c.content_hash == signed.content_hash)
            .values(archive=_tampered(signed.archive))
        )
    done = _round(pipeline, version.label)
    failed = {r.check: r.summary for r in done.failed}
    assert list(failed) == ["integrity"]
    assert failed["integrity"].startswith("the stored package does not verify")
    assert all(r.passed is None for r in done.results if r.check != "integrity")


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
    with db.read() as conn:  # the policy point put the refusal on the audit log
        denied = conn.execute(
            select(audit_log.c.actor, audit_log.c.target).where(
                audit_log.c.action == "assessment.update", audit_log.c.outcome == "denied"
            )
        ).all()
    assert [tuple(r) for r in denied] == [("dev@stadslab.nl", f"assessment:{ref}")]
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


def test_spot_checks_beta_and_a_new_version(pipeline: dict, tmp_path: Path) -> None:  # type: ignore[type-arg]
    """After accreditation (the test above): a spot check that passes changes nothing; once
    the publisher's key is revoked, the next one fails integrity and suspends the version. A
    new version re-enters at submitted with the previous outcome as context, passes its
    checks, has a beta, then goes under review."""
    db, admin, dev = pipeline["db"], pipeline["admin"], pipeline["dev"]
    ref = "solar-potential@0.1.0"
    assert store.show(db, admin, ref).versions[-1].state == State.approved
    again = _round(pipeline, ref)
    assert again.kind == "spot-check" and again.passed
    assert store.show(db, admin, ref).versions[-1].state == State.approved
    old_key = packages.load_key(pipeline["runtime"].home.parent / "key.pem")
    store.revoke_key(db, admin, public_hex(old_key), "Stadslab BV")
    failed = _round(pipeline, ref)
    assert [r.check for r in failed.failed] == ["integrity"]
    view = store.show(db, admin, ref)
    assert view.versions[-1].state == State.suspended
    assert (
        view.decisions["0.1.0"][-1]["reason"]
        == f"spot check, round {failed.round}: failed integrity"
    )
    report = accreditation.report(db, ref)
    assert [r["kind"] for r in report["rounds"]][-2:] == ["spot-check", "spot-check"]
    assert report["accredited"] is False

    public = packages.generate_key(tmp_path / "new.pem")
    store.register_key(db, admin, public, "release key 2", "Stadslab BV")
    newer = tmp_path / "solar"
    shutil.copytree(APPS / "solar-potential", newer, ignore=shutil.ignore_patterns("__pycache__"))
    manifest = newer / "tweeling-app.toml"
    text = manifest.read_text().replace('version = "0.1.0"', 'version = "0.2.0"', 1)
    manifest.write_text(text.replace("memory_mb = 3072", "memory_mb = 2048"))
    store.publish(db, dev, packages.from_path(newer, packages.load_key(tmp_path / "new.pem")))
    with pytest.raises(Conflict, match="is a draft: its publisher submits it first"):
        _round(pipeline, "solar-potential@0.2.0")
    submitted = accreditation.submit(db, dev, "solar-potential@0.2.0", "less memory")
    reason = store.show(db, admin, "solar-potential@0.2.0").decisions["0.2.0"][-1]["reason"]
    assert reason.startswith("submitted for accreditation; follows 0.1.0 (suspended, trust score")
    assert reason.endswith("changed: resources; less memory")
    assert submitted.state == State.submitted
    earlier = accreditation.report(db, "solar-potential@0.2.0")["previous"]
    assert earlier["version"] == "0.1.0" and earlier["failed_checks"] == ["integrity"]
    with pytest.raises(Conflict, match="has had no automated checks"):
        accreditation.open_beta(db, admin, "solar-potential@0.2.0", ["Keurmerk Instituut"], "x")
    assert _round(pipeline, "solar-potential@0.2.0").passed
    beta = accreditation.open_beta(db, admin, "solar-potential@0.2.0", ["Stadslab BV"], "try it")
    assert beta.state == State.beta
    accreditation.assign(db, admin, "solar-potential@0.2.0", ["Keurmerk Instituut"])
    assert store.show(db, admin, "solar-potential@0.2.0").versions[0].state == State.under_review


def test_a_stochastic_app_with_a_declared_seed_is_deterministic(
    pipeline: dict,
    tmp_path: Path,  # type: ignore[type-arg]
) -> None:
    app = bad_app(tmp_path, "seeded")
    manifest = app / "tweeling-app.toml"
    manifest.write_text(manifest.read_text().replace('id = "bad-seeded"', 'id = "seeded-random"'))
    key = packages.load_key(pipeline["runtime"].home.parent / "key.pem")
    version = store.publish(pipeline["db"], pipeline["dev"], packages.from_path(app, key))
    accreditation.submit(pipeline["db"], pipeline["dev"], version.label)
    done = _round(pipeline, version.label)
    determinism = next(r for r in done.results if r.check == "determinism")
    assert determinism.passed, determinism.summary
    assert determinism.summary == "two runs gave identical outputs under the declared seed 7"
    privacy = next(r for r in done.results if r.check == "privacy")
    assert privacy.evidence["reads"] == {"buildings": {"object_types": [], "attributes": []}}
