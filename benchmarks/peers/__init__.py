"""Parts of the OGC API – Features peer benchmark (benchmarks/ogc_peers.py)."""
