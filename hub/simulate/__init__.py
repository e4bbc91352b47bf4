"""Demo data: simulated cameras, vehicles, reads and their rendered images."""
