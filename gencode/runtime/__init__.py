"""The runtime: executes an op graph with PyTorch (imports torch; the front end never imports this)."""
