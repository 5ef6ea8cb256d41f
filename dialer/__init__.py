"""dialer: an outbound notification campaign dialer on MTT's HTTP APIs.

The package is laid out along the data flow:
``loader`` → ``scheduler`` → ``dispatch`` → ``providers`` → ``collector`` → ``outcomes``
→ ``export``.
Nothing is built at import time: entry points call ``get_settings()``, ``make_engine()`` and
``build_broker()`` themselves.
"""

__version__ = "0.1.0"
