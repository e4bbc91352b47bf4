"""Evidence packets: build a BagIt bag for a case, sign it, verify it offline."""
