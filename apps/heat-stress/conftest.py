"""Lets the app's tests import the app's package from this folder (pytest puts it on the
path); nothing else."""
