"""The `numlookup` command line."""
