"""Heat stress in a Tweeling twin: shade, sky view, mean radiant temperature and UTCI per
ground cell on a hot summer day, with the hotspots flagged."""
