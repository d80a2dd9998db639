"""Solar potential of roofs (and facades) in a Tweeling twin."""
