from __future__ import annotations

import pytest

from tweeling.errors import InvalidInput
from tweeling.twin.crs import CRS84, crs_url, horizontal, parse_crs


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("https://www.opengis.net/def/crs/EPSG/0/7415", "EPSG:7415"),
        ("http://www.opengis.net/def/crs/EPSG/0/28992", "EPSG:28992"),
        ("urn:ogc:def:crs:EPSG::7415", "EPSG:7415"),
        ("urn:ogc:def:crs:EPSG:6.3:2056", "EPSG:2056"),
        ("EPSG:4326", "EPSG:4326"),
        ("epsg:28992", "EPSG:28992"),
        ("2056", "EPSG:2056"),
        ("http://www.opengis.net/def/crs/OGC/1.3/CRS84", CRS84),
        ("urn:ogc:def:crs:OGC:1.3:CRS84", CRS84),
    ],
)
def test_parse_crs(text: str, code: str) -> None:
    assert parse_crs(text) == code


@pytest.mark.parametrize("text", ["EPSG:999999", "RD New", "", "https://example.org/crs/1"])
def test_unknown_crs(text: str) -> None:
    with pytest.raises(InvalidInput, match="unknown CRS"):
        parse_crs(text)


def test_compound_crs_has_rd_new_as_horizontal_part() -> None:
    assert horizontal("EPSG:7415").to_epsg() == 28992
    assert parse_crs(crs_url("EPSG:7415")) == "EPSG:7415"
