"""The Real-Time Lookup: live SRI-SM queries to HLRs over SS7 links."""
