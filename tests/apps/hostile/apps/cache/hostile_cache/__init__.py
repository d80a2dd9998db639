"""Hostile test app: changes the shared extracted-package cache so another app's next run runs its code."""
