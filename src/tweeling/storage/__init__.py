"""Storage: the database, its migrations and the spatial index, on SQLite or PostGIS."""
