"""The criteria framework as data: dimensions, criteria with guidance and evidence, a 0-5
scale, a norm per criterion, and the existing framework each criterion builds on.

Frameworks are TOML files beside this module (``framework-<version>.toml``) so the market
master versions them like code and accreditors can see where every question comes from. A
report always names the framework version it was scored against.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Literal

import semver
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tweeling.errors import NotFound
from tweeling.store.accreditation import checks
from tweeling.store.documents import toml, validated

Dimension = Literal["ethical", "legal", "social", "economic", "technical", "management"]
DIMENSIONS: tuple[str, ...] = ("ethical", "legal", "social", "economic", "technical", "management")
# The platform's automated intake checks (``store.accreditation.checks``); a criterion may
# cite any registered check, a plug-in's too.
CHECKS: tuple[str, ...] = checks.BUILTIN_NAMES
Check = str  # the name of a registered check (kept for callers of the former Literal)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Scale(_Strict):
    min: int = 0
    max: int = 5
    labels: list[str]

    @model_validator(mode="after")
    def _one_label_per_point(self) -> Scale:
        if len(self.labels) != self.max - self.min + 1:
            raise ValueError(f"the scale needs {self.max - self.min + 1} labels")
        return self


class Source(_Strict):
    name: str
    url: str


class Criterion(_Strict):
    id: str = Field(pattern=r"^[A-Z]{3}-\d+$")
    dimension: Dimension
    question: str = Field(min_length=10)
    guidance: str
    evidence: str
    norm: int
    source: str
    reference: str
    check: Check | None = None

    @field_validator("check")
    @classmethod
    def _a_registered_check(cls, value: str | None) -> str | None:
        if value is not None and value not in checks.CHECKS:
            known = ", ".join(checks.names())
            raise ValueError(f"no automated check named {value!r} (known: {known})")
        return value


class Framework(_Strict):
    id: str
    version: str
    title: str
    scale: Scale
    sources: dict[str, Source]
    criteria: list[Criterion] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Framework:
        if not semver.Version.is_valid(self.version + ".0" * (2 - self.version.count("."))):
            raise ValueError(f"version {self.version!r} is not MAJOR.MINOR")
        seen: set[str] = set()
        for criterion in self.criteria:
            if criterion.id in seen:
                raise ValueError(f"criterion {criterion.id} appears twice")
            seen.add(criterion.id)
            if criterion.source not in self.sources:
                raise ValueError(f"criterion {criterion.id}: unknown source {criterion.source!r}")
            if not self.scale.min <= criterion.norm <= self.scale.max:
                raise ValueError(
                    f"criterion {criterion.id}: norm {criterion.norm} is off the scale"
                )
        missing = set(DIMENSIONS) - {c.dimension for c in self.criteria}
        if missing:
            raise ValueError(f"no criteria for the dimension(s) {', '.join(sorted(missing))}")
        unused = set(self.sources) - {c.source for c in self.criteria}
        if unused:
            raise ValueError(f"sources cited by no criterion: {', '.join(sorted(unused))}")
        return self

    def by_dimension(self) -> dict[str, list[Criterion]]:
        return {d: [c for c in self.criteria if c.dimension == d] for d in DIMENSIONS}


def parse_framework(text: str, where: str) -> Framework:
    return validated(Framework, toml(text, where), where, "(framework)")


@cache
def frameworks() -> dict[str, Framework]:
    """The shipped frameworks by version."""
    found = {}
    for entry in files(__package__).iterdir():
        if entry.name.startswith("framework-") and entry.name.endswith(".toml"):
            framework = parse_framework(entry.read_text(encoding="utf-8"), entry.name)
            found[framework.version] = framework
    return found


def framework(version: str | None = None) -> Framework:
    """A framework by version, or the newest."""
    known = frameworks()
    if version is None:
        return known[max(known, key=lambda v: tuple(int(p) for p in v.split(".")))]
    if version not in known:
        raise NotFound(f"no criteria framework {version!r} (known: {', '.join(sorted(known))})")
    return known[version]


class Assessment(_Strict):
    criterion: str
    score: int
    evidence: str


class ReviewFile(_Strict):
    """An accreditor's scores filed at once: ``framework``, optionally ``accreditor``, and
    one ``[scores.<any name>]`` table per criterion with criterion, score and evidence."""

    framework: str
    accreditor: str | None = None
    scores: dict[str, Assessment] = Field(min_length=1)


def parse_review(text: str, where: str) -> ReviewFile:
    return validated(ReviewFile, toml(text, where), where, "(review)")
