"""Settings read from the environment (prefix ``TWEELING_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import field_validator
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
