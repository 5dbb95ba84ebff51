"""One handler per container format, behind the small interface in ``base``; ``registry`` lists them."""
