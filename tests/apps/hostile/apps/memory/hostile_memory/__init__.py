"""Hostile test app: takes far more memory than it declares, by several allocators and by children."""
