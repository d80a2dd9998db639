"""3D Tiles 1.1 for a scenario: a quadtree tileset with GLB content and feature metadata."""

from tweeling.twin.tiles.content import leaf_content
from tweeling.twin.tiles.tiling import Node, Quadtree, build, tileset

__all__ = ["Node", "Quadtree", "build", "leaf_content", "tileset"]
