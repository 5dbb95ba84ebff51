"""Privacy rules beyond stripping: coarse locations, private zones, delays, names, file times, resizing."""
