"""The lookup service: authentication, admission, cache, resolvers, records."""
