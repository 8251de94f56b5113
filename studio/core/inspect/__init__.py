"""Looking inside a model: attention maps, MoE routing, routing over training, heatmap rendering."""
