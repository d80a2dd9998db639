"""Hostile test app: forges its run's result and event channels so a failed run looks successful."""
