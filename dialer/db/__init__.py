"""The database: the single source of truth for campaigns, contacts, attempts and events."""
