"""The office-facing service: the browser console and the HTTP API (``dialer web``).

``app`` builds the FastAPI application; ``auth`` says who is asking (a Bearer token or a
console session) and what their role allows; ``api/`` holds the ``/api/v1`` routes, each a
few lines around the same service functions the CLI calls; ``console/`` the pages.
"""
