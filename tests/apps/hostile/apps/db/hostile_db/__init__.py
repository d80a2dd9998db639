"""Hostile test app: inserts rows into the platform database: an organisation and an API token."""
