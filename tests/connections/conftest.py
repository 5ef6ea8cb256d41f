"""The collector fixtures, for the OAuth redirect it serves."""

from tests.collector.conftest import (  # noqa: F401 - fixtures
    collector_sqlite_url,
    sqlite_template,
    start_collector,
)
