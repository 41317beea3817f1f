"""Networks, one per file. A file holds a network, not its training loop."""
