"""Hostile test app: kills, stops, traces and rewrites the memory of the platform's processes."""
