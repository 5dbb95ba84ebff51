"""sharesafe: share-safe copies of photos and videos, with the metadata removed."""

__version__ = "0.1.0"
