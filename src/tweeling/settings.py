"""Settings read from the environment (prefix ``TWEELING_``), one group per concern.

Every ``TWEELING_*`` variable the platform reads is a field of one of the groups below, and
nothing else in ``src/tweeling`` reads one from ``os.environ`` (``tests/test_docs.py`` checks
that, and that docs/configuration.md lists every variable with its default).

Code gets its values from ``current()``: the settings of the environment as it is now, parsed
once and kept until a ``TWEELING_*`` variable changes (in production: never after start; in
tests: whenever ``monkeypatch.setenv`` changes one, so each factory call, CLI invocation or
request sees the environment it runs in). Each group is parsed when first used, so a bad
value fails where it matters, as ``NotConfigured`` naming the variable: an upload cap that is
not a number refuses uploads (503), not the whole server. ``reset()`` forgets the parsed
settings (tests that change ``os.environ`` without monkeypatch).
"""

from __future__ import annotations

import os
import threading
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BeforeValidator, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tweeling.errors import NotConfigured


def _blank_is_unset(value: Any) -> Any:
    # An empty variable (``TWEELING_TOKEN=``) has always meant "not set".
    return None if value == "" else value


def _set_is_on(value: Any) -> Any:
    # Any non-empty value switches it on (``TWEELING_DEBUG=1``, ``=yes``, even ``=0``).
    return bool(value) if isinstance(value, str) else value


def _whole_number_or_unset(value: Any) -> Any:
    # The worker is handed this by the platform; anything but digits means "not granted".
    if isinstance(value, str):
        return int(value) if value.isdigit() else None
    return value


Unset = Annotated[str | None, BeforeValidator(_blank_is_unset)]
UnsetPath = Annotated[Path | None, BeforeValidator(_blank_is_unset)]


class StorageSettings(BaseSettings):
    """Where the twin database lives.

    ``TWEELING_HOME`` holds local state (default ``./var``); ``TWEELING_DATABASE_URL`` picks the
    backend: unset means the embedded SQLite file ``$TWEELING_HOME/tweeling.db``; a
    ``postgresql://`` URL means PostgreSQL + PostGIS.
    """

    model_config = SettingsConfigDict(env_prefix="TWEELING_", validate_default=True)

    home: Path = Path("var")
    database_url: str | None = None

    @field_validator("home", mode="after")
    @classmethod
    def _absolute_home(cls, home: Path) -> Path:
        # Resolved once, at load, against the directory the command was started from: an app
        # worker runs in its own work directory, and a relative home would point there.
        return home.expanduser().resolve()

    def resolved_database_url(self) -> str:
        if self.database_url:
            url = self.database_url
            if url.startswith("postgresql://") or url.startswith("postgres://"):
                url = "postgresql+psycopg://" + url.split("://", 1)[1]
            return url
        return f"sqlite:///{self.home / 'tweeling.db'}"


class AccessSettings(BaseSettings):
    """Identity and access: the platform key and the sign-in limits.

    ``TWEELING_PLATFORM_KEY``: the platform's Ed25519 key file (default
    ``$TWEELING_HOME/keys/platform-ed25519.pem``). Sign-in attempts are limited per client
    address (per minute) and per account (per fifteen minutes).
    """

    model_config = SettingsConfigDict(env_prefix="TWEELING_")

    platform_key: UnsetPath = None
    sign_in_attempts_per_address: Annotated[int, Field(ge=1)] = 20  # per minute
    sign_in_attempts_per_account: Annotated[int, Field(ge=1)] = 10  # per fifteen minutes

    @property
    def trusted_proxies(self) -> str:
        """Kept for callers from before the server group: ``ServerSettings.trusted_proxies``."""
        return ServerSettings().trusted_proxies


class OIDCSettings(BaseSettings):
    """Sign-in through an external OpenID Connect provider (``TWEELING_OIDC_*``): enabled when
    both the issuer and the client id are set."""

    model_config = SettingsConfigDict(env_prefix="TWEELING_OIDC_")

    issuer: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    scope: str = "openid email profile"
    # Reading the keys again on an unknown key id: at most this often (seconds).
    jwks_refetch_s: float = 60.0

    @property
    def enabled(self) -> bool:
        return bool(self.issuer and self.client_id)


class UploadSettings(BaseSettings):
    """Caps on upload bodies, in MB: ``TWEELING_MAX_UPLOAD_MB`` for a dataset file,
    ``TWEELING_MAX_PACKAGE_MB`` for an app package (what it may unpack to is the store's
    ``TWEELING_MAX_PACKAGE_UNPACKED_MB``)."""

    model_config = SettingsConfigDict(env_prefix="TWEELING_")

    max_upload_mb: int = 2048
    max_package_mb: int = 256


class RunSettings(BaseSettings):
    """Apps and runs, and the work the platform spreads over processes.

    ``TWEELING_MAX_OUTPUT_MB`` caps what one run may return (default 256 MB); the platform
    stops reading there and the run fails. ``TWEELING_EXECUTOR`` (``local`` or ``dask``, with
    ``TWEELING_DASK_SCHEDULER=tcp://…``) picks where runs execute. ``TWEELING_IMPORT_WORKERS``
    fixes the number of processes an import prepares batches in (0: in the importing process;
    unset: chosen by file size). ``TWEELING_CPUS`` is what the platform hands a run's worker:
    the cores granted to it (from the manifest's ``resources.cpu``). ``TWEELING_APP_ENVS``:
    the folder of the apps' library environments (default ``$TWEELING_HOME/envs``); they are
    content-addressed, so several homes or servers may share one.
    """

    model_config = SettingsConfigDict(env_prefix="TWEELING_")

    max_output_mb: Annotated[int, Field(ge=1)] = 256
    executor: str = "local"
    dask_scheduler: Unset = None
    import_workers: int | None = None
    cpus: Annotated[int | None, BeforeValidator(_whole_number_or_unset)] = None
    app_envs: UnsetPath = None

    @field_validator("app_envs", mode="after")
    @classmethod
    def _absolute_envs(cls, envs: Path | None) -> Path | None:
        return envs.expanduser().resolve() if envs is not None else None


class StoreSettings(BaseSettings):
    """The app store: ``TWEELING_MAX_PACKAGE_UNPACKED_MB`` caps what one package may unpack to
    (default 512 MB)."""

    model_config = SettingsConfigDict(env_prefix="TWEELING_")

    max_package_unpacked_mb: Annotated[int, Field(ge=1)] = 512


class ServerSettings(BaseSettings):
    """The web server: ``TWEELING_TRUSTED_PROXIES``, comma-separated addresses or CIDRs of
    reverse proxies whose X-Forwarded-For is believed (default: none).
    ``TWEELING_CORS_ORIGINS``: the origins whose pages may read the API (comma-separated, or
    ``*`` for any; empty: none) — reads only, never with the visitor's cookies."""

    model_config = SettingsConfigDict(env_prefix="TWEELING_")

    trusted_proxies: str = ""
    cors_origins: str = "*"


class AuditSettings(BaseSettings):
    """The audit log's signing.

    ``TWEELING_AUDIT_KEY``: the audit signing key file (default
    ``$TWEELING_HOME/keys/audit-signing.pem``), never stored in the database; checkpoints are
    signed every ``TWEELING_AUDIT_CHECKPOINT_ENTRIES`` entries and at the first entry
    ``TWEELING_AUDIT_CHECKPOINT_MINUTES`` after the last checkpoint.
    """

    model_config = SettingsConfigDict(env_prefix="TWEELING_")

    audit_key: Path | None = None
    audit_checkpoint_entries: Annotated[int, Field(ge=1)] = 1000
    audit_checkpoint_minutes: Annotated[float, Field(gt=0)] = 10.0


class CLISettings(BaseSettings):
    """The command line: ``TWEELING_TOKEN`` makes commands act as that token's person (else
    the local operator); ``TWEELING_DEBUG`` (any value) shows the traceback of an internal
    error."""

    model_config = SettingsConfigDict(env_prefix="TWEELING_")

    token: Unset = None
    debug: Annotated[bool, BeforeValidator(_set_is_on)] = False


class DemoSettings(BaseSettings):
    """``tweeling demo``: ``TWEELING_SAMPLES`` is a folder of sample city models to use instead
    of the ones shipped with the package."""

    model_config = SettingsConfigDict(env_prefix="TWEELING_")

    samples: UnsetPath = None


class StudioSettings(BaseSettings):
    """The web front (Studio): ``TWEELING_LANGUAGE`` is the language of its pages for a
    visitor who has not chosen one (``nl`` or ``en``; default ``nl``, a Dutch deployment);
    ``TWEELING_BASEMAP_STYLE`` is the URL of a MapLibre style for the 2D map's background
    (unset: none, the twin's own footprints on a plain background; no page fetches anything
    from another origin unless an operator sets this, e.g. to PDOK's background map)."""

    model_config = SettingsConfigDict(env_prefix="TWEELING_")

    language: Literal["nl", "en"] = "nl"
    basemap_style: Unset = None


G = TypeVar("G", bound=BaseSettings)

# The groups by concern, in the order docs/configuration.md lists them.
GROUPS: dict[str, type[BaseSettings]] = {
    "storage": StorageSettings,
    "access": AccessSettings,
    "oidc": OIDCSettings,
    "uploads": UploadSettings,
    "runs": RunSettings,
    "store": StoreSettings,
    "server": ServerSettings,
    "audit": AuditSettings,
    "cli": CLISettings,
    "demo": DemoSettings,
    "studio": StudioSettings,
}


def variable(group: type[BaseSettings], field: str) -> str:
    """The environment variable that sets ``field`` of ``group``."""
    return (str(group.model_config.get("env_prefix", "")) + field).upper()


def variables() -> dict[str, tuple[str, str]]:
    """Every variable the platform reads → (group name, field name)."""
    return {
        variable(group, field): (name, field)
        for name, group in GROUPS.items()
        for field in group.model_fields
    }


def parse(group: type[G]) -> G:
    """One group read from the environment; a bad value is ``NotConfigured`` naming it."""
    try:
        return group()
    except ValidationError as exc:
        problems = "; ".join(
            f"{variable(group, str(error['loc'][0]))}={error.get('input')!r}: {error['msg']}"
            for error in exc.errors()
        )
        raise NotConfigured(f"bad setting: {problems}") from None


class Settings:
    """All settings, by concern; each group is parsed on first use (see the module's doc)."""

    @cached_property
    def storage(self) -> StorageSettings:
        return parse(StorageSettings)

    @cached_property
    def access(self) -> AccessSettings:
        return parse(AccessSettings)

    @cached_property
    def oidc(self) -> OIDCSettings:
        return parse(OIDCSettings)

    @cached_property
    def uploads(self) -> UploadSettings:
        return parse(UploadSettings)

    @cached_property
    def runs(self) -> RunSettings:
        return parse(RunSettings)

    @cached_property
    def store(self) -> StoreSettings:
        return parse(StoreSettings)

    @cached_property
    def server(self) -> ServerSettings:
        return parse(ServerSettings)

    @cached_property
    def audit(self) -> AuditSettings:
        return parse(AuditSettings)

    @cached_property
    def cli(self) -> CLISettings:
        return parse(CLISettings)

    @cached_property
    def demo(self) -> DemoSettings:
        return parse(DemoSettings)

    @cached_property
    def studio(self) -> StudioSettings:
        return parse(StudioSettings)

    def check(self) -> None:
        """Parse every group now (a command that should fail at start on any bad value)."""
        for name in GROUPS:
            getattr(self, name)


_NAMES = tuple(variables())
_lock = threading.Lock()
_cached: tuple[tuple[str | None, ...], Settings] | None = None


def _environment() -> tuple[str | None, ...]:
    # The one place that reads TWEELING_* variables outside pydantic-settings: to notice a
    # change. The working directory counts too: a relative TWEELING_HOME is resolved against it.
    try:
        where = os.getcwd()
    except OSError:  # the directory was removed under us
        where = None
    return (where, *(os.environ.get(name) for name in _NAMES))


def current() -> Settings:
    """The settings of the environment as it is now (parsed once per distinct environment)."""
    global _cached
    key = _environment()
    found = _cached
    if found is not None and found[0] == key:
        return found[1]
    with _lock:
        if _cached is None or _cached[0] != key:
            _cached = (key, Settings())
        return _cached[1]


def reset() -> None:
    """Forget the parsed settings: the next ``current()`` reads the environment again."""
    global _cached
    with _lock:
        _cached = None
