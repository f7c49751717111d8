"""The two tasks, peers over the same spine: translate and summarise."""
