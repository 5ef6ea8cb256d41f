"""The scheduler: turns due contacts into queued attempts and keeps the queue honest."""
