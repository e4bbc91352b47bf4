"""Pure domain shared by the workstation and the hub: no Qt, no I/O."""
