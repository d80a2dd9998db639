"""Hostile test app: reaches the network: loopback TCP, UDP, DNS, Unix sockets, the Dask scheduler."""
