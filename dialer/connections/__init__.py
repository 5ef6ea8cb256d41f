"""Connections to providers that authorise with OAuth 2.0 (MTT Business): their tokens,
sealed in the database, refreshed by one process at a time."""
