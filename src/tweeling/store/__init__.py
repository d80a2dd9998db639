"""The app store: the DT-repository of every submitted app version, its lifecycle, product
pages, search, and (to come) fit reports, reviews and federation.

The repository holds every version any provider submits, whatever its state; the store is
the part of it a municipality sees: approved versions, and beta versions for the
organisations admitted to them.
"""
