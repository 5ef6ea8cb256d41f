"""Exports for analysts: the contacts and attempts of a campaign, streamed from the database."""
