"""The HTTP service: thin FastAPI routers over the services, one module per API part."""
