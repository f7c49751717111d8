"""Quality: checks on every output, metrics, comparison."""
