"""The API tests' platform (organisations, people with tokens, the Delft twin) and client,
for the Studio's page tests."""

from tests.api.conftest import client, platform  # noqa: F401  (fixtures)
