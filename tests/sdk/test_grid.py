"""Ground grids and extruded blocks: areas, volumes and orientation checked analytically."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from tweeling.sdk import Inputs, write_test_inputs
from tweeling.sdk.grid import extrude, ground_grid


def _areas_normals(triangles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    cross = np.cross(triangles[:, 1] - triangles[:, 0], triangles[:, 2] - triangles[:, 0])
    return 0.5 * np.linalg.norm(cross, axis=1), cross / np.linalg.norm(cross, axis=1)[:, None]


@pytest.mark.parametrize(
    "footprint",
    [
        shapely.box(0, 0, 10, 10),
        shapely.Polygon([(0, 0), (20, 0), (20, 5), (5, 5), (5, 15), (0, 15)]),  # an L
        shapely.box(0, 0, 30, 30).difference(shapely.box(10, 10, 20, 20)),  # a courtyard
    ],
)
def test_extruded_block_is_closed_and_outward(footprint: shapely.Polygon) -> None:
    triangles, kinds = extrude(footprint, 12.0, base=-0.5)
    area, normal = _areas_normals(triangles)
    kinds_ = np.array(kinds)
    assert area[kinds_ == "RoofSurface"].sum() == pytest.approx(footprint.area)
    assert area[kinds_ == "GroundSurface"].sum() == pytest.approx(footprint.area)
    assert area[kinds_ == "WallSurface"].sum() == pytest.approx(footprint.length * 12.0)
    assert (normal[kinds_ == "RoofSurface", 2] > 0.99).all()
    assert (normal[kinds_ == "GroundSurface", 2] < -0.99).all()
    # A closed surface wound outwards: the vector area sums to zero and the divergence
    # theorem gives the volume.
    assert np.abs((normal * area[:, None]).sum(axis=0)).max() < 1e-9
    centroids = triangles.mean(axis=1)
    volume = (centroids * normal * area[:, None]).sum() / 3
    assert volume == pytest.approx(footprint.area * 12.0)
    # Walls face away from the footprint: a point a little outside along the normal is not
    # inside the polygon.
    walls = kinds_ == "WallSurface"
    outside = centroids[walls, :2] + 0.01 * normal[walls, :2]
    assert not shapely.contains_xy(footprint, outside[:, 0], outside[:, 1]).any()


def test_ground_grid_leaves_out_buildings_and_classifies_the_rest() -> None:
    buildings = [shapely.box(0, 0, 10, 10), shapely.box(20, 0, 30, 10)]
    grid = ground_grid(buildings, 1.0, margin=5)
    # bounding box 30 x 10 grown by 5: 40 x 20 cells, less two 10 x 10 buildings
    assert len(grid) == 40 * 20 - 2 * 100
    assert not shapely.contains_xy(shapely.union_all(buildings), *grid.centres.T).any()
    park = shapely.box(10, 0, 20, 10)
    kinds = grid.classify({"green": [park], "paved": [shapely.box(-5, -5, 35, 15)]})
    assert kinds.count("green") == 100
    assert kinds.count("paved") == len(grid) - 100
    assert ground_grid(buildings, 1.0, area=shapely.box(10, 0, 20, 10)).centres.shape == (100, 2)
    collection = grid.features({"kind": kinds, "value": np.arange(len(grid), dtype=float)})
    first = collection["features"][0]
    assert shapely.geometry.shape(first["geometry"]).area == pytest.approx(1.0)
    assert first["properties"]["kind"] in ("green", "paved")
    with pytest.raises(ValueError, match="coarser"):
        ground_grid(buildings, 0.001, margin=5)


def test_test_inputs_carry_meshes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    block = shapely.box(0, 0, 10, 10)
    folder = write_test_inputs(
        tmp_path,
        {"buildings": [{"id": "a", "footprint": block, "mesh": extrude(block, 10)}, {"id": "b"}]},
    )
    mesh = Inputs(folder).layer("buildings").mesh()
    assert len(mesh) == len(extrude(block, 10)[0])
    assert set(mesh.objects.tolist()) == {0}
    assert mesh.areas().sum() == pytest.approx(100 + 100 + 400)


def test_roofs_and_walls_by_semantics_or_slope(tmp_path) -> None:  # type: ignore[no-untyped-def]
    block = shapely.box(0, 0, 10, 10)
    triangles, kinds = extrude(block, 10)
    labelled = write_test_inputs(
        tmp_path / "a", {"buildings": [{"id": "a", "mesh": (triangles, kinds)}]}
    )
    bare = write_test_inputs(
        tmp_path / "b", {"buildings": [{"id": "a", "mesh": (triangles, None)}]}
    )
    expected_roof = np.array(kinds) == "RoofSurface"
    expected_wall = np.array(kinds) == "WallSurface"
    for folder in (labelled, bare):  # the same answer from semantics and from slopes
        roof, wall = Inputs(folder).layer("buildings").mesh().roofs_and_walls()
        assert np.array_equal(roof, expected_roof) and np.array_equal(wall, expected_wall)
    # a semantic label wins over the slope: a flat face labelled as wall stays wall
    mesh = Inputs(labelled).layer("buildings").mesh()
    relabelled = type(mesh)(
        mesh.corners, mesh.objects, np.where(expected_roof, "WallSurface", mesh.surfaces)
    )
    roof, wall = relabelled.roofs_and_walls()
    assert not roof.any() and wall[expected_roof].all()
