"""The registries' entry-point route, with a real (temporary) third-party distribution."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.plugin_util import installed_package
from tweeling.errors import NotConfigured
from tweeling.plugins import Registry


def _registry() -> Registry[object]:
    return Registry("tweeling.test_toys", "toy", lambda o: hasattr(o, "greet"))


def test_a_plugin_from_another_package_is_found(tmp_path: Path) -> None:
    toys = _registry()
    source = """
        class Toy:
            def greet(self) -> str:
                return "hallo"
    """
    with installed_package(
        tmp_path, "toy-pkg", {"toy_mod": source}, {"tweeling.test_toys": {"toy": "toy_mod:Toy"}}
    ):
        assert toys.get("toy").greet() == "hallo"  # type: ignore[attr-defined]
        assert toys.names() == ["toy"]


def test_a_builtin_is_not_replaced_by_a_plugin(tmp_path: Path) -> None:
    toys = _registry()

    class Builtin:
        def greet(self) -> str:
            return "built in"

    toys.register("toy", Builtin())
    source = "class Toy:\n    def greet(self):\n        return 'impostor'\n"
    with installed_package(
        tmp_path, "toy-pkg", {"toy_mod2": source}, {"tweeling.test_toys": {"toy": "toy_mod2:Toy"}}
    ):
        assert toys.get("toy").greet() == "built in"  # type: ignore[attr-defined]


def test_a_plugin_of_the_wrong_shape_is_named(tmp_path: Path) -> None:
    toys = _registry()
    with (
        installed_package(
            tmp_path,
            "bad-pkg",
            {"bad_mod": "class Bad:\n    pass\n"},
            {"tweeling.test_toys": {"bad": "bad_mod:Bad"}},
        ),
        pytest.raises(NotConfigured, match="'bad' does not implement the toy protocol"),
    ):
        toys.names()


def test_a_plugin_that_fails_to_import_is_named(tmp_path: Path) -> None:
    toys = _registry()
    with (
        installed_package(
            tmp_path,
            "broken-pkg",
            {"broken_mod": "raise ImportError('no numpy here')\n"},
            {"tweeling.test_toys": {"broken": "broken_mod:X"}},
        ),
        pytest.raises(NotConfigured, match=r"'broken'.*failed to load: no numpy here"),
    ):
        toys.get("broken")


def test_an_unknown_name_lists_the_known_ones() -> None:
    toys = _registry()
    with pytest.raises(NotConfigured, match="no toy named 'x' \\(known: none\\)"):
        toys.get("x")
