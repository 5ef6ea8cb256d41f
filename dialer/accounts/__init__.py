"""Who may use the web console and the HTTP API: users and their passwords, roles, API
tokens, browser sessions and sign-in throttling. All SQL for those tables lives here.

Functions take a ``Session`` and never commit: the caller's ``session_scope`` does.
"""
