"""All network I/O to providers lives here: MTT sb-api (informer, IVR), msapi (SMS),
the Telecom API JSON-RPC helpers, and pure parsers for their webhook events."""
