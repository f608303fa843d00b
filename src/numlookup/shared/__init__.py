"""State shared by every numlookup server: the cache and ongoing-request counts, in Redis."""
