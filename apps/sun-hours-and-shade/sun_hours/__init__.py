"""Sun hours on roofs, facades and public space, and shade maps (Tweeling reference app)."""
