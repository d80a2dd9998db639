"""Settings read from the environment (prefix ``TWEELING_``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


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


class UploadSettings(BaseSettings):
    """Caps on upload bodies, in MB: ``TWEELING_MAX_UPLOAD_MB`` for a dataset file,
    ``TWEELING_MAX_PACKAGE_MB`` for an app package (what it may unpack to is the packages'
    own ``TWEELING_MAX_PACKAGE_UNPACKED_MB``)."""

    model_config = SettingsConfigDict(env_prefix="TWEELING_")

    max_upload_mb: int = 2048
    max_package_mb: int = 256


class AccessSettings(BaseSettings):
    """The audit log's signing and the sign-in limits.

    ``TWEELING_AUDIT_KEY``: the audit signing key file (default
    ``$TWEELING_HOME/keys/audit-signing.pem``), never stored in the database; checkpoints are
    signed every ``TWEELING_AUDIT_CHECKPOINT_ENTRIES`` entries and at the first entry
    ``TWEELING_AUDIT_CHECKPOINT_MINUTES`` after the last checkpoint.
    ``TWEELING_TRUSTED_PROXIES``: comma-separated addresses or CIDRs of reverse proxies whose
    X-Forwarded-For is believed (default: none).
    """

    model_config = SettingsConfigDict(env_prefix="TWEELING_")

    audit_key: Path | None = None
    audit_checkpoint_entries: Annotated[int, Field(ge=1)] = 1000
    audit_checkpoint_minutes: Annotated[float, Field(gt=0)] = 10.0
    trusted_proxies: str = ""
    sign_in_attempts_per_address: Annotated[int, Field(ge=1)] = 20  # per minute
    sign_in_attempts_per_account: Annotated[int, Field(ge=1)] = 10  # per fifteen minutes


class RunSettings(BaseSettings):
    """App runs: ``TWEELING_MAX_OUTPUT_MB`` caps what one run may return (default 256 MB);
    the platform stops reading there and the run fails. ``TWEELING_APP_ENVS``: the folder of
    the apps' library environments (default ``$TWEELING_HOME/envs``); they are
    content-addressed, so several homes or servers may share one."""

    model_config = SettingsConfigDict(env_prefix="TWEELING_")

    max_output_mb: Annotated[int, Field(ge=1)] = 256
    app_envs: Path | None = None

    @field_validator("app_envs", mode="after")
    @classmethod
    def _absolute_envs(cls, envs: Path | None) -> Path | None:
        return envs.expanduser().resolve() if envs is not None else None
