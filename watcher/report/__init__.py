"""The exposure report: what a folder of originals would have revealed had it been shared as is."""
