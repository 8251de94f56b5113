"""Ways of showing the graph: presentation mode and its geometry, compare mode."""
