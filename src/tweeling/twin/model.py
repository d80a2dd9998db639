"""The city model: city objects, their layers, and the kinds of scenario."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

JSONDict = dict[str, Any]
# An object's vertices: real coordinates, n × 3, as nested lists or a float64 array.
Vertices = list[list[float]] | npt.NDArray[np.float64]


class ScenarioKind(StrEnum):
    current = "current"
    proposed = "proposed"
    permitted = "permitted"
    other = "other"


# CityJSON city object types grouped into the layers that apps and APIs work with.
LAYER_OF_TYPE: dict[str, str] = {
    "Building": "buildings",
    "BuildingPart": "buildings",
    "BuildingInstallation": "buildings",
    "BuildingConstructiveElement": "buildings",
    "BuildingFurniture": "buildings",
    "BuildingStorey": "buildings",
    "BuildingRoom": "buildings",
    "BuildingUnit": "buildings",
    "Road": "roads",
    "Railway": "roads",
    "TransportSquare": "roads",
    "Waterway": "water",
    "WaterBody": "water",
    "SolitaryVegetationObject": "vegetation",
    "PlantCover": "vegetation",
    "LandUse": "landuse",
    "TINRelief": "terrain",
    "Bridge": "bridges",
    "BridgePart": "bridges",
    "BridgeInstallation": "bridges",
    "BridgeConstructiveElement": "bridges",
    "BridgeRoom": "bridges",
    "BridgeFurniture": "bridges",
    "Tunnel": "tunnels",
    "TunnelPart": "tunnels",
    "TunnelInstallation": "tunnels",
    "TunnelConstructiveElement": "tunnels",
    "TunnelHollowSpace": "tunnels",
    "TunnelFurniture": "tunnels",
    "CityFurniture": "furniture",
    "OtherConstruction": "other",
    "GenericCityObject": "other",
    "CityObjectGroup": "groups",
}
LAYERS: tuple[str, ...] = tuple(dict.fromkeys(LAYER_OF_TYPE.values()))


def layer_of(object_type: str) -> str:
    """The layer of a city object type; extension types (``+Name``) go to ``other``."""
    return LAYER_OF_TYPE.get(object_type, "other")


CITYJSON_TYPES: frozenset[str] = frozenset(LAYER_OF_TYPE)


@dataclass(slots=True)
class CityObject:
    """One city object with geometry self-contained: boundaries index its own ``vertices``.

    Vertices are real coordinates in the twin's CRS. ``geometry`` holds CityJSON geometry
    objects (LoD, semantics, templates by content hash). ``extra`` keeps any other CityJSON
    member of the object (``address``, extension properties) so nothing is lost.
    """

    id: str
    type: str
    attributes: JSONDict = field(default_factory=dict)
    geometry: list[JSONDict] = field(default_factory=list)
    vertices: Vertices = field(default_factory=list)
    parents: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    extra: JSONDict = field(default_factory=dict)

    @property
    def layer(self) -> str:
        return layer_of(self.type)


@dataclass(slots=True)
class GeometryTemplate:
    """A CityJSON geometry template with its own vertices, addressed by content hash."""

    key: str
    geometry: JSONDict
    vertices: list[list[float]]
