"""The network side: HTTP/1.1 over TCP and TLS, and the process that runs it all."""
