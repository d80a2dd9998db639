"""The closed sets of words (run status, job status, lifecycle states, roles, kinds, use cases,
decisions, audit outcomes) are StrEnums defined once; the code names their members instead of
spelling their words. An AST walk over src/tweeling finds a bare word where a vocabulary's
value is compared, assigned or passed, so a new one fails here; and a bad word from outside
gets a clear refusal naming the allowed ones."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from enum import StrEnum
from itertools import pairwise
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.cli.test_cli import run
from tweeling.access import identity
from tweeling.access.audit import AuditOutcome
from tweeling.access.identity import OrgKind, Role
from tweeling.api.app import create_app
from tweeling.apps.manifest import UseCase
from tweeling.apps.runs import JobStatus, job_status
from tweeling.apps.sandbox import RunStatus
from tweeling.services.accreditation import Decision
from tweeling.storage.db import Database
from tweeling.store.federation import HarvestStatus
from tweeling.store.lifecycle import State
from tweeling.twin.model import ScenarioKind
from tweeling.twin.scenarios import EditKind

SRC = Path(__file__).resolve().parents[1] / "src" / "tweeling"


def _words(*enums: type[StrEnum]) -> frozenset[str]:
    return frozenset(member.value for enum in enums for member in enum)


# A vocabulary's words, by the name (variable, attribute, keyword, column or JSON key) that
# holds one of them. A name is matched by its last part: ``app_runs.c.status``, ``last_status``
# and ``row["status"]`` all hold a status.
VOCABULARIES: dict[str, frozenset[str]] = {
    "status": _words(RunStatus, JobStatus, HarvestStatus),
    "state": _words(State),
    "role": _words(Role),
    "kind": _words(OrgKind, ScenarioKind, EditKind),
    "use_case": _words(UseCase),
    "outcome": _words(Decision, AuditOutcome),
}


def _vocabulary(name: str | None) -> frozenset[str] | None:
    if name is None:
        return None
    for key, words in VOCABULARIES.items():
        if name == key or name.endswith("_" + key):
            return words
    return None


def _name(node: ast.AST) -> str | None:
    """The name that holds a value: a variable, an attribute, or a string subscript."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        return node.slice.value if isinstance(node.slice.value, str) else None
    return None


def _literals(node: ast.AST | None) -> Iterator[ast.Constant]:
    """The string constants a value may be: itself, a branch of a conditional, or a member
    of a tuple, list or set it is compared against."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node
    elif isinstance(node, ast.IfExp):
        yield from _literals(node.body)
        yield from _literals(node.orelse)
    elif isinstance(node, ast.Tuple | ast.List | ast.Set):
        for element in node.elts:
            yield from _literals(element)


def _is_literal_type(annotation: ast.AST | None) -> bool:
    """``x: Literal["a", "b"] = "a"``: the Literal type is itself the vocabulary."""
    return (
        isinstance(annotation, ast.Subscript)
        and isinstance(annotation.value, ast.Name)
        and annotation.value.id == "Literal"
    )


def _pairs(tree: ast.AST) -> Iterator[tuple[str | None, ast.AST | None]]:
    """(name, value) for every place where a value is compared with, stored in or passed as
    a name: comparisons, assignments, keyword arguments, parameter defaults, dict entries."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            for left, right in pairwise(sides):
                yield _name(left), right
                yield _name(right), left
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                yield _name(target), node.value
        elif isinstance(node, ast.AnnAssign) and not _is_literal_type(node.annotation):
            yield _name(node.target), node.value
        elif isinstance(node, ast.keyword):
            yield node.arg, node.value
        elif isinstance(node, ast.arguments):
            positional = [*node.posonlyargs, *node.args]
            for arg, default in zip(positional[::-1], node.defaults[::-1], strict=False):
                if not _is_literal_type(arg.annotation):
                    yield arg.arg, default
            for arg, kw_default in zip(node.kwonlyargs, node.kw_defaults, strict=True):
                if kw_default is not None and not _is_literal_type(arg.annotation):
                    yield arg.arg, kw_default
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    yield key.value, value


def _enum_bodies(tree: ast.AST) -> set[int]:
    """Line numbers inside the vocabularies' own class bodies (where the words are defined)."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and any(
            isinstance(base, ast.Name) and base.id == "StrEnum" for base in node.bases
        ):
            lines.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    return lines


def bare_words(source: str, filename: str = "<source>") -> list[str]:
    """Where ``source`` spells a vocabulary's word instead of naming its member."""
    tree = ast.parse(source, filename)
    definitions = _enum_bodies(tree)
    found = []
    for name, value in _pairs(tree):
        words = _vocabulary(name)
        if words is None:
            continue
        for literal in _literals(value):
            if literal.value in words and literal.lineno not in definitions:
                found.append(f"{filename}:{literal.lineno}: {name} … {literal.value!r}")
    return sorted(set(found))


def test_no_bare_vocabulary_words_in_the_code() -> None:
    found = [
        hit
        for path in sorted(SRC.rglob("*.py"))
        for hit in bare_words(path.read_text(encoding="utf-8"), str(path.relative_to(SRC)))
    ]
    assert found == [], "name the enum member instead:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "source",
    [
        'if run.status == "successful": pass',
        'ok = record.status != "failed"',
        'done = status in ("crashed", "timeout")',
        'query.where(app_runs.c.status == "running")',
        'finish(conn, 1, last_status="failed")',
        'version.state = "approved"',
        'def add(role: str = "admin") -> None: pass',
        'decide(outcome="accredited" if good else "rejected")',
        'event = {"outcome": "denied"}',
        'row["kind"] == "municipality"',
    ],
)
def test_the_scan_finds_a_bare_word(source: str) -> None:
    assert bare_words(source), source


@pytest.mark.parametrize(
    "source",
    [
        "if run.status == RunStatus.successful: pass",
        'report = {"failed": [1, 2]}',  # a word as a JSON key is wire data
        'kind: Literal["proposed", "other"] = "proposed"',  # a Literal type is a vocabulary
        'label = "successful"',  # not a name that holds a status
        'class RunStatus(StrEnum):\n    failed = "failed"\n    status = "running"',
    ],
)
def test_the_scan_leaves_other_strings_alone(source: str) -> None:
    assert bare_words(source) == [], source


def test_members_are_their_words_on_the_wire() -> None:
    import orjson

    assert orjson.dumps({"status": RunStatus.cpu_limit}) == b'{"status":"cpu-limit"}'
    assert f"{State.under_review}" == "under-review"
    assert RunStatus.successful == "successful"
    assert job_status(RunStatus.memory_limit) is JobStatus.failed
    assert job_status("dismissed") is JobStatus.dismissed


def test_a_bad_decision_over_http_is_a_400_naming_the_allowed_ones(db: Database) -> None:
    with db.begin() as conn:
        identity.bootstrap(conn)
        master = identity.FIRST_ADMIN
        token = identity.create_token(conn, master, identity.MARKET_MASTER, actor="test").secret
    with TestClient(create_app(db)) as client:
        r = client.post(
            "/store/apps/solar-potential/versions/1.0.0/accreditation/decision",
            json={"outcome": "maybe", "reason": "undecided"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert r.status_code == 400, r.text
    assert "accredited or rejected" in r.json()["message"] and "'maybe'" in r.json()["message"]


def test_a_bad_decision_on_the_command_line_exits_2_naming_the_allowed_ones(
    db_url: str, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    assert run(["init"], home, db_url).returncode == 0
    r = run(["accredit", "decide", "solar-potential@1.0.0", "--outcome", "maybe",
             "--reason", "undecided"], home, db_url)  # fmt: skip
    assert r.returncode == 2, r.stdout + r.stderr
    assert "accredited or rejected" in r.stderr and "'maybe'" in r.stderr
