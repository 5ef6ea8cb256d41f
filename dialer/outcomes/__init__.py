"""The outcome engine: apply provider events (and dispatch results) to attempts and contacts,
idempotently, as a forward-only state machine."""
