"""What moved behind the services door (issue 18) still refuses bad input with a message
that names what is wrong, before any work is done."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from tweeling.errors import InvalidInput
from tweeling.services import access
from tweeling.services.app_development import scaffold
from tweeling.services.hosting import HostedApp


def test_the_audit_verifier_refuses_a_public_key_that_is_not_hex() -> None:
    with pytest.raises(InvalidInput, match=r"--public-key 'xyz': not an Ed25519 public key"):
        access.audit_trust(None, ["xyz"])


def test_the_audit_verifier_names_an_anchor_it_cannot_read(tmp_path: Path) -> None:
    missing = tmp_path / "head.json"
    with pytest.raises(InvalidInput, match=rf"--anchor {missing}: cannot read it"):
        access.audit_trust(missing, [])


def test_the_audit_verifier_trusts_the_keys_it_is_given() -> None:
    key = "ab" * 32
    trust = access.audit_trust(None, [key.upper()])
    assert trust.keys == frozenset({key})
    assert trust.anchor is None


@pytest.fixture(scope="module")
def hosted(tmp_path_factory: pytest.TempPathFactory) -> HostedApp:
    folder = scaffold("door-test", tmp_path_factory.mktemp("apps"), publisher="Tests")
    return HostedApp.load(folder)


def test_a_hosted_app_needs_the_zipped_inputs(hosted: HostedApp) -> None:
    with pytest.raises(InvalidInput, match=r"input 'data' \(the zipped run inputs\) is missing"):
        hosted.parse({})


def test_a_hosted_app_refuses_inputs_that_are_not_base64(hosted: HostedApp) -> None:
    with pytest.raises(InvalidInput, match=r"input 'data' is not base64"):
        hosted.parse({"data": {"value": "not base64!"}})


def test_a_hosted_app_reads_the_archive_and_resolves_parameters(hosted: HostedApp) -> None:
    archive, parameters = hosted.parse({"data": {"value": base64.b64encode(b"PK").decode()}})
    assert archive == b"PK"
    assert isinstance(parameters, dict)


def test_a_hosted_app_refuses_an_archive_that_is_not_a_zip(hosted: HostedApp) -> None:
    archive, parameters = hosted.parse({"data": {"value": base64.b64encode(b"PK").decode()}})
    with pytest.raises(InvalidInput, match=r"input 'data': "):
        hosted.run(archive, parameters)


def test_a_remote_manifest_cannot_be_hosted(tmp_path: Path) -> None:
    folder = scaffold("door-remote", tmp_path, publisher="Tests")
    manifest = folder / "tweeling-app.toml"
    text = re.sub(
        r"^entry_point = .*$",
        'remote = "https://apps.example.org/processes/door-remote"',
        manifest.read_text(encoding="utf-8"),
        flags=re.M,
    )
    manifest.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInput, match="a remote app's manifest cannot be served"):
        HostedApp.load(folder)
