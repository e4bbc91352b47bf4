"""UI flows as small per-feature operations (as Anki's qt/aqt/operations/): each
builds the calls a feature needs, puts each on its lane (local calls on the cache
lane, remote ones on the network lane, CPU work on its own), and says what happens
on success or failure. The window only lays out and wires."""
