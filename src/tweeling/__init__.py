"""Tweeling: urban digital twins with an accredited app store for governments."""

__version__ = "0.1.0"
