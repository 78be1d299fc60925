"""A Maelstrom-compatible harness: run real nodes as processes, be their network, judge their history."""
