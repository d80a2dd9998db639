"""Hostile test app: spins the CPU past its limit, in threads and children, and raises its own limits."""
