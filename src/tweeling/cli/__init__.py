"""The ``tweeling`` command line."""
