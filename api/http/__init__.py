"""The HTTP edges: what every request meets before, or besides, the routes' own rules."""
