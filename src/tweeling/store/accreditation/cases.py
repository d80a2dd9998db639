"""Publishers' reference cases: their own test cases, with expected outputs and tolerances,
signed into the package as ``tweeling-reference-cases.toml``.

Each case names a small city model in the package (CityJSON or CityJSONSeq), the parameters
to run with, where its expected values come from, and per value the output (an indicator, or
an attribute of one object) with an absolute or relative tolerance::

    [[case]]
    name = "an open flat roof receives the year's horizontal irradiation"
    data = "reference-cases/open-roof.city.json"
    source = "KNMI De Bilt 2021, hourly global radiation summed"
    parameters = { pv_efficiency = 0.2 }

    [[case.expect]]
    output = "roof_irradiation_kwh_m2"
    object = "open-roof"
    value = 1031.4
    relative = 0.01

The accreditation runs each case in the sandbox, on a twin made from its data, and compares;
here only the file's form and the comparison.
"""

from __future__ import annotations

import io
import math
import zipfile
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tweeling.apps.packages import Package
from tweeling.errors import InvalidInput
from tweeling.store.documents import toml, validated

CASES_FILE = "tweeling-reference-cases.toml"
DATA_SUFFIXES = (".city.json", ".city.jsonl", ".json", ".jsonl")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Expectation(_Strict):
    output: str = Field(description="a declared output: an indicator, or a per-object attribute")
    object: str | None = Field(default=None, description="the object id (attribute outputs)")
    value: float | int | str | bool
    absolute: Annotated[float, Field(ge=0)] | None = None
    relative: Annotated[float, Field(ge=0)] | None = None

    @model_validator(mode="after")
    def _tolerance_for_numbers(self) -> Expectation:
        numeric = isinstance(self.value, int | float) and not isinstance(self.value, bool)
        if not numeric and (self.absolute is not None or self.relative is not None):
            raise ValueError("a tolerance applies to numbers only")
        return self

    def label(self) -> str:
        return f"{self.output}[{self.object}]" if self.object else self.output


class Case(_Strict):
    name: Annotated[str, Field(min_length=1)]
    data: str = Field(description="a city model file of the package")
    source: Annotated[str, Field(min_length=1)] = Field(
        description="where the expected values come from (an independent reference)"
    )
    parameters: dict[str, Any] = Field(default_factory=dict)
    expect: Annotated[list[Expectation], Field(min_length=1)]


class ReferenceCases(_Strict):
    case: Annotated[list[Case], Field(min_length=1)]


def load(package: Package) -> tuple[ReferenceCases | None, dict[str, bytes]]:
    """The package's reference cases and their data files (None when it has none)."""
    where = f"{package.manifest.id} {package.manifest.version}: {CASES_FILE}"
    with zipfile.ZipFile(io.BytesIO(package.archive)) as archive:
        names = set(archive.namelist())
        if CASES_FILE not in names:
            return None, {}
        cases = validated(ReferenceCases, toml(archive.read(CASES_FILE), where), where,
                          "(reference cases)")  # fmt: skip
        data: dict[str, bytes] = {}
        for case in cases.case:
            if case.data not in names:
                raise InvalidInput(
                    f"{where}: case {case.name!r}: {case.data} is not in the package"
                )
            if not case.data.endswith(DATA_SUFFIXES):
                raise InvalidInput(f"{where}: case {case.name!r}: {case.data} is not CityJSON")
            data[case.data] = archive.read(case.data)
    return cases, data


def _found(outputs: dict[str, Any], expectation: Expectation) -> tuple[bool, Any]:
    if expectation.object is None:
        indicators = outputs.get("indicators") or {}
        return expectation.output in indicators, indicators.get(expectation.output)
    per_object = (outputs.get("attributes") or {}).get(expectation.output) or {}
    return expectation.object in per_object, per_object.get(expectation.object)


def compare(expectation: Expectation, outputs: dict[str, Any]) -> dict[str, Any]:
    """One expected value against a run's outputs: what was wanted, what came, whether it is
    within the tolerance (exact when none is given)."""
    present, got = _found(outputs, expectation)
    line: dict[str, Any] = {
        "output": expectation.label(),
        "expected": expectation.value,
        "got": got,
        "absolute": expectation.absolute,
        "relative": expectation.relative,
    }
    if not present:
        return {**line, "ok": False, "why": "not in the outputs"}
    wanted = expectation.value
    if isinstance(wanted, bool) or not isinstance(wanted, int | float):
        return {**line, "ok": got == wanted, "why": "" if got == wanted else "differs"}
    if not isinstance(got, int | float) or isinstance(got, bool) or not math.isfinite(got):
        return {**line, "ok": False, "why": f"not a number: {got!r}"}
    allowed = max(expectation.absolute or 0.0, (expectation.relative or 0.0) * abs(wanted))
    difference = abs(got - wanted)
    ok = difference <= allowed
    return {
        **line,
        "ok": ok,
        "difference": difference,
        "why": "" if ok else f"off by {difference:.6g} (allowed {allowed:.6g})",
    }
