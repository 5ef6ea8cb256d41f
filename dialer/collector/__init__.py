"""The webhook collector: MTT's call, IVR and SMS events in, stored first, applied after.

``app.create_app`` builds the Starlette app; ``server.run_collector`` serves it (``dialer
collector``) and ``server.CollectorServer`` runs it in a background thread (``dialer run``,
tests). Nothing is built at import.
"""
