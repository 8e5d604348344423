"""Industry-chain knowledge graph (networkx): build, gap analysis, gap-filling value."""
