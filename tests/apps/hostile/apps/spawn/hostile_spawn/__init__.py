"""Hostile test app: starts processes that outlive its run, and a bounded fork bomb."""
