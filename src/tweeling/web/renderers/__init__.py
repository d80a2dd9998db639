"""The platform's renderers, one module per media type (see ``web.negotiation``)."""
