"""The app manifest, ``tweeling-app.toml``: what an app is, needs, produces and may use.

The platform reads it to tell a municipality whether an app fits its data (inputs and their
completeness), to sandbox a run (resources, personal data), to describe the app as an OGC API
process (parameters as JSON Schema, outputs with units and ranges), and to list it in the
store (use cases, licence, publisher). The same model yields the published JSON Schema
(``manifest_schema``), so what is documented and what is enforced cannot drift apart.
"""

from __future__ import annotations

import json
import re
import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import jsonschema_rs
import semver
from license_expression import ExpressionError, get_spdx_licensing
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tweeling.errors import InputFileError

MANIFEST = "tweeling-app.toml"
_ID = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_ENTRY = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
_LICENCE_REF = re.compile(r"^LicenseRef-[A-Za-z0-9.-]+$")
_ATTRIBUTE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]*$")


class UseCase(StrEnum):
    """The store's controlled taxonomy of use cases (from the source documents)."""

    safety = "safety"
    mobility = "mobility"
    liveability_health = "liveability-health"
    energy = "energy"
    climate_adaptation = "climate-adaptation"
    housing = "housing"
    social = "social"
    permits = "permits"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LayerInput(_Strict):
    """A layer the app reads, the attributes it needs there, and how complete they must be."""

    layer: str = Field(description="twin layer: buildings, roads, vegetation, landuse, water, …")
    object_types: list[str] = Field(
        default_factory=list, description="CityJSON types within the layer, e.g. Building"
    )
    attributes: list[str] = Field(default_factory=list, description="attributes read")
    min_completeness: float = Field(
        default=0.0, ge=0.0, le=1.0, description="share of objects that must carry every attribute"
    )
    min_lod: str | None = Field(
        default=None, description="lowest level of detail that works, e.g. 2.2"
    )
    geometry: bool = Field(default=True, description="whether the app reads 3D geometry")
    required: bool = Field(default=True, description="an optional input only improves the results")

    @field_validator("attributes")
    @classmethod
    def _names(cls, values: list[str]) -> list[str]:
        for name in values:
            if not _ATTRIBUTE.match(name):
                raise ValueError(f"{name!r} is not an attribute name")
        return values


class SensorInput(_Strict):
    """A SensorThings datastream the app reads (observed property and unit)."""

    observed_property: str
    unit: str | None = None
    required: bool = True


class Inputs(_Strict):
    layers: list[LayerInput] = Field(default_factory=list)
    sensors: list[SensorInput] = Field(default_factory=list)
    crs: list[str] = Field(
        default_factory=list, description="CRSs the app works in (empty: any projected CRS)"
    )
    max_extent_km2: float | None = Field(default=None, gt=0, description="largest area it handles")


# The draft parameter schemas are written in; the only one accepted, so that a schema's
# ``$schema`` never sends the platform to fetch an unknown meta-schema from the network.
PARAMETER_SCHEMA_DRAFT = "https://json-schema.org/draft/2020-12/schema"
_JSON_TYPES = "array, boolean, integer, null, number, object, string"


def _schema_place(path: list[str | int] | tuple[str | int, ...]) -> str:
    return ".".join(str(p) for p in path) or "(the schema itself)"


def _not_json(value: Any, path: tuple[str | int, ...] = ()) -> tuple[str | int, ...] | None:
    """Where a parsed TOML value holds something JSON has not (a date or time), if anywhere."""
    if isinstance(value, dict):
        for key, item in value.items():
            found = _not_json(item, (*path, key))
            if found is not None:
                return found
        return None
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _not_json(item, (*path, index))
            if found is not None:
                return found
        return None
    return None if value is None or isinstance(value, (str, int, float, bool)) else path


def _ref_naming(value: Any, message: str, path: tuple[str | int, ...] = ()) -> list[str | int]:
    """The place of the first ``$ref`` whose target the message names (to say where it is)."""
    if isinstance(value, dict):
        ref = value.get("$ref")
        if isinstance(ref, str) and ref and ref.lstrip("#") in message:
            return [*path, "$ref"]
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items if isinstance(value, (dict, list)) else ():
        found = _ref_naming(item, message, (*path, key))
        if found:
            return found
    return []


def parameter_validator(schema: dict[str, Any]) -> jsonschema_rs.Validator:
    """A validator for an app's parameter schema; ``ValueError`` naming the place where the
    schema is not valid JSON Schema (draft 2020-12), a regular expression does not compile
    or a ``$ref`` points nowhere. References outside the schema are refused, never fetched."""
    place = _not_json(schema)
    if place is not None:
        raise ValueError(f"{_schema_place(place)}: a TOML date or time is not JSON; quote it")
    dialect = schema.get("$schema")
    if dialect is not None and str(dialect).rstrip("#") != PARAMETER_SCHEMA_DRAFT:
        raise ValueError(f"$schema: {dialect!r} is not {PARAMETER_SCHEMA_DRAFT} (draft 2020-12)")
    try:
        jsonschema_rs.meta.validate(schema)  # against the draft 2020-12 meta-schema
        return jsonschema_rs.Draft202012Validator(schema, offline=True)
    except jsonschema_rs.ValidationError as exc:
        where = list(exc.instance_path)
        message = exc.message
        kind = type(exc.kind).__name__
        if where and where[-1] == "type" and kind == "AnyOf":
            message = f"{json.dumps(exc.instance)} is not a JSON Schema type ({_JSON_TYPES})"
        elif kind == "Referencing":
            where = _ref_naming(schema, message) or where
        raise ValueError(f"{_schema_place(where)}: {message}") from None
    except jsonschema_rs.ReferencingError as exc:
        raise ValueError(f"a reference does not resolve: {exc}") from None


class Parameters(_Strict):
    """Parameters as a JSON Schema object with defaults; some are calibrated per municipality."""

    schema_: dict[str, Any] = Field(
        default_factory=lambda: {"type": "object", "properties": {}},
        alias="schema",
        description="JSON Schema (draft 2020-12) of the parameters object",
    )
    calibrated: list[str] = Field(
        default_factory=list, description="parameters each municipality sets for itself"
    )

    @field_validator("schema_")
    @classmethod
    def _valid_json_schema(cls, schema: dict[str, Any]) -> dict[str, Any]:
        parameter_validator(schema)
        return schema

    @model_validator(mode="after")
    def _consistent(self) -> Parameters:
        if self.schema_.get("type") != "object":
            raise ValueError("parameters.schema must describe an object (type = 'object')")
        properties = self.schema_.get("properties") or {}
        for name in self.calibrated:
            if name not in properties:
                raise ValueError(f"calibrated parameter {name!r} is not in parameters.schema")
        for name, spec in properties.items():
            if not isinstance(spec, dict) or "default" not in spec:
                raise ValueError(f"parameter {name!r} needs a default")
        # The defaults are what a run gets when nobody sets a parameter: they must fit.
        for error in parameter_validator(self.schema_).iter_errors(self.defaults()):
            if not error.instance_path:
                raise ValueError(f"schema: the defaults together do not fit it: {error.message}")
            parameter, *inside = error.instance_path
            where = ".".join(str(p) for p in ["default", *inside])
            raise ValueError(f"schema.properties.{parameter}.{where}: {error.message}")
        return self

    def defaults(self) -> dict[str, Any]:
        return {k: v["default"] for k, v in (self.schema_.get("properties") or {}).items()}


class Output(_Strict):
    """One output: a per-object attribute, an aggregate indicator, or a new layer."""

    kind: Literal["attribute", "indicator", "layer"]
    name: str
    description: str = ""
    type: Literal["number", "integer", "boolean", "string"] = "number"
    unit: str | None = Field(default=None, description="UCUM-style unit, e.g. kWh/m2/a, Cel, h")
    range: Annotated[list[float], Field(min_length=2, max_length=2)] | None = None
    layer: str | None = Field(default=None, description="for attributes: the layer they are set on")

    @model_validator(mode="after")
    def _shape(self) -> Output:
        if not _ATTRIBUTE.match(self.name):
            raise ValueError(f"output name {self.name!r} is not an attribute name")
        if self.kind == "attribute" and not self.layer:
            raise ValueError(f"attribute output {self.name!r} needs the layer it is set on")
        if self.range is not None and self.range[0] > self.range[1]:
            raise ValueError(f"output {self.name!r}: range goes from high to low")
        return self


class Resources(_Strict):
    cpu: float = Field(default=1.0, gt=0, le=64, description="CPU cores")
    memory_mb: int = Field(default=1024, gt=0, le=262_144)
    max_runtime_s: int = Field(default=600, gt=0, le=86_400)
    disk_mb: int = Field(
        default=512, gt=0, le=65_536, description="the work directory's size in the sandbox"
    )
    gpu: bool = False


class Manifest(_Strict):
    """``tweeling-app.toml``."""

    id: str = Field(description="lowercase words joined by hyphens, e.g. solar-potential")
    name: str = Field(min_length=1, max_length=120)
    version: str = Field(description="semantic version, e.g. 1.2.0")
    publisher: str = Field(min_length=1, max_length=200)
    summary: str = Field(min_length=1, max_length=300)
    description: str = ""
    use_cases: list[UseCase] = Field(min_length=1)
    licence: str = Field(description="SPDX licence expression, e.g. EUPL-1.2")
    personal_data: bool = Field(
        default=False, description="whether the app processes personal data"
    )
    entry_point: str | None = Field(
        default=None, description="module:function, e.g. solar_potential.app:run"
    )
    remote: str | None = Field(
        default=None,
        description="instead of an entry point: the URL of the provider's OGC API – Processes "
        "process that runs the app (…/processes/{id})",
    )
    inputs: Inputs = Field(default_factory=lambda: Inputs())
    parameters: Parameters = Field(default_factory=lambda: Parameters())
    outputs: list[Output] = Field(min_length=1)
    resources: Resources = Field(default_factory=lambda: Resources())
    requirements: list[str] = Field(
        default_factory=list,
        description="the Python libraries the app needs beyond the platform's runtime, each "
        "pinned as name==version (an environment marker may follow ';'), the complete set: "
        "they are installed as wheels without their own dependencies",
    )

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _ID.match(value) or len(value) > 64:
            raise ValueError("use lowercase letters and digits in words joined by '-'")
        return value

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        try:
            semver.Version.parse(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a semantic version (MAJOR.MINOR.PATCH)") from None
        return value

    @field_validator("licence")
    @classmethod
    def _licence(cls, value: str) -> str:
        licensing = get_spdx_licensing()
        try:
            parsed = licensing.parse(value, strict=True)
        except ExpressionError as exc:
            raise ValueError(f"{value!r} is not an SPDX licence expression: {exc}") from None
        if parsed is None:
            raise ValueError("an SPDX licence expression is needed, e.g. EUPL-1.2")
        unknown = [
            key
            for key in licensing.unknown_license_keys(parsed)
            if not _LICENCE_REF.match(key)  # a publisher's own licence, as SPDX allows
        ]
        if unknown:
            raise ValueError(f"not on the SPDX licence list: {', '.join(unknown)}")
        return str(parsed)  # the canonical spelling: "mit" becomes "MIT"

    @field_validator("entry_point")
    @classmethod
    def _entry(cls, value: str | None) -> str | None:
        if value is not None and not _ENTRY.match(value):
            raise ValueError("give module:function, e.g. solar_potential.app:run")
        return value

    @field_validator("remote")
    @classmethod
    def _remote(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s]+/\S*processes/[^/\s]+$", value):
            raise ValueError("give the process URL, e.g. https://provider.example/processes/noise")
        return value

    @field_validator("requirements")
    @classmethod
    def _pinned(cls, values: list[str]) -> list[str]:
        return pinned_requirements(values)

    @model_validator(mode="after")
    def _runs_somewhere(self) -> Manifest:
        if (self.entry_point is None) == (self.remote is None):
            raise ValueError("give either entry_point (code in the package) or remote (a URL)")
        return self

    @model_validator(mode="after")
    def _unique_outputs(self) -> Manifest:
        names = [o.name for o in self.outputs]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"outputs named twice: {', '.join(twice)}")
        return self


def pinned_requirements(values: list[str]) -> list[str]:
    """Each requirement checked to be ``name==version`` (with an optional marker), in its
    canonical spelling; one library named twice is refused."""
    seen: set[str] = set()
    canonical: list[str] = []
    for value in values:
        try:
            requirement = Requirement(value)
        except InvalidRequirement as exc:
            raise ValueError(f"{value!r} is not a requirement: {exc}") from None
        specs = list(requirement.specifier)
        pinned = len(specs) == 1 and specs[0].operator == "==" and "*" not in specs[0].version
        if requirement.url or requirement.extras or not pinned:
            raise ValueError(
                f"{value!r}: pin each library to one version as name==version, without extras "
                "or URLs (the complete set is installed from wheels on the package index)"
            )
        name = canonicalize_name(requirement.name)
        if name in seen:
            raise ValueError(f"{requirement.name!r} is required twice")
        seen.add(name)
        marker = f"; {requirement.marker}" if requirement.marker else ""
        canonical.append(f"{name}=={specs[0].version}{marker}")
    return canonical


def manifest_schema() -> dict[str, Any]:
    """The published JSON Schema of ``tweeling-app.toml``."""
    schema = Manifest.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://tweeling.nl/schemas/tweeling-app.schema.json"
    schema["title"] = "Tweeling app manifest (tweeling-app.toml)"
    return schema


def _where(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def parse_manifest(data: dict[str, Any], source: str = MANIFEST) -> Manifest:
    """A manifest from parsed TOML; every problem named with its place, in one message."""
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"{_where(err['loc'])}: {str(err['msg']).removeprefix('Value error, ')}"
            for err in exc.errors()
        ]
        raise InputFileError(source, "; ".join(problems)) from None


def load_manifest(folder: Path) -> Manifest:
    """Read ``tweeling-app.toml`` from an app folder."""
    path = folder / MANIFEST
    if not path.is_file():
        raise InputFileError(folder, f"no {MANIFEST} here (is this an app folder?)")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputFileError(path, f"not valid TOML: {exc}") from None
    return parse_manifest(data, str(path))


if __name__ == "__main__":  # regenerates docs/schemas/tweeling-app.schema.json
    import json
    import sys

    json.dump(manifest_schema(), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
