"""`numlookup hlr-sim`: an HLR with its own signalling-gateway side, for tests and demos."""
