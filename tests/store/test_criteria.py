"""The accreditation criteria framework as data: complete over the six dimensions, every
criterion tied to an existing framework and scale, broken frameworks refused with the
reason."""

from __future__ import annotations

import pytest

from tweeling.errors import InvalidInput, NotFound
from tweeling.store.accreditation.checks import CheckResult
from tweeling.store.accreditation.criteria import CHECKS, DIMENSIONS, framework, parse_framework
from tweeling.store.accreditation.scoring import trust_score


def test_the_shipped_framework_covers_every_dimension_and_check() -> None:
    current = framework()
    assert current.version == "1.0" and framework("1.0") is current
    groups = current.by_dimension()
    assert list(groups) == list(DIMENSIONS)
    assert all(groups[d] for d in DIMENSIONS)
    assert len(current.criteria) >= 18
    cited = {c.source for c in current.criteria}
    assert {"ar", "gitc", "bio", "iama", "dpia", "register", "altai", "gemini", "iso25010"} <= cited
    # the automated checks feed the criteria they evidence
    fed = {c.check for c in current.criteria if c.check}
    assert fed <= set(CHECKS) and len(fed) >= 8
    assert all(current.scale.min <= c.norm <= current.scale.max for c in current.criteria)
    assert {c.id for c in current.criteria if c.norm == 5} == {"TEC-1", "TEC-6"}
    with pytest.raises(NotFound, match=r"no criteria framework '9\.9'"):
        framework("9.9")


BASE = """
id = "x"
version = "1.1"
title = "t"
scale = { min = 0, max = 5, labels = ["a", "b", "c", "d", "e", "f"] }
[sources]
s = { name = "S", url = "https://s" }
"""


def _criterion(cid: str, dimension: str, source: str = "s", norm: int = 3) -> str:
    return (
        f'[[criteria]]\nid = "{cid}"\ndimension = "{dimension}"\n'
        'question = "A question long enough?"\nguidance = "g"\nevidence = "e"\n'
        f'norm = {norm}\nsource = "{source}"\nreference = "r"\n'
    )


def _all(**overrides: str) -> str:
    parts = [BASE]
    for i, dim in enumerate(DIMENSIONS):
        parts.append(overrides.get(dim, _criterion(f"ABC-{i}", dim)))
    return "\n".join(parts)


def test_broken_frameworks_are_refused_with_the_reason() -> None:
    assert parse_framework(_all(), "ok.toml").version == "1.1"
    with pytest.raises(InvalidInput, match="no criteria for the dimension"):
        parse_framework(BASE + _criterion("ABC-1", "legal"), "f.toml")
    with pytest.raises(InvalidInput, match="unknown source 'nope'"):
        parse_framework(_all(legal=_criterion("ABC-9", "legal", source="nope")), "f.toml")
    with pytest.raises(InvalidInput, match="ABC-0 appears twice"):
        parse_framework(_all(legal=_criterion("ABC-0", "legal")), "f.toml")
    with pytest.raises(InvalidInput, match="norm 7 is off the scale"):
        parse_framework(_all(legal=_criterion("ABC-9", "legal", norm=7)), "f.toml")
    with pytest.raises(InvalidInput, match=r"f\.toml: not valid TOML"):
        parse_framework("id = ", "f.toml")


def test_trust_score_follows_its_formula() -> None:
    names = ("conformance", "determinism", "robustness", "resources", "reference-cases",
             "provenance", "integrity")  # fmt: skip
    scores = dict.fromkeys(("TEC-2", "TEC-3", "TEC-4", "TEC-5", "TEC-7", "SOC-1", "MAN-1"), 5.0)
    perfect = trust_score(scores, [CheckResult(n, True, "") for n in names])
    assert perfect == {"reliability": 1.0, "traceability": 1.0, "trust": 100.0}
    # one of five reliability checks failing costs ½·⅕ of reliability; a check not run counts
    # as not passed; an unscored criterion counts as 0
    failed = [CheckResult(n, n != "reference-cases", "") for n in names]
    assert trust_score(scores, failed)["reliability"] == 0.9
    not_run = [CheckResult(n, None if n == "integrity" else True, "") for n in names]
    assert trust_score(scores, not_run)["traceability"] == 0.75
    del scores["MAN-1"]
    assert trust_score(scores, [CheckResult(n, True, "") for n in names])["traceability"] == (
        round(0.5 * (2 / 3) + 0.5, 3)
    )
    assert trust_score({}, [])["trust"] == 0.0
