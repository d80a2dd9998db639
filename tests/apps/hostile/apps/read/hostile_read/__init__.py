"""Hostile test app: looks for the platform's database, keys, environment and other runs' inputs, and returns what it finds."""
