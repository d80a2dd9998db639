"""The ASGI application for process managers (gunicorn with uvicorn workers, uvicorn --workers).

    gunicorn -k uvicorn_worker.UvicornWorker -w 2 tweeling.api.asgi:app

Each worker process imports this module and builds its own app over the configured database
(TWEELING_HOME / TWEELING_DATABASE_URL), so connection pools are never shared across forks.
"""

from __future__ import annotations

from tweeling.api.app import create_app

app = create_app()
