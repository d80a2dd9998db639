"""Hostile test app: returns a result far above the per-run output cap, by the SDK and by raw channels."""
