"""Cluster-wide and in-process request rate limits (requests per second, burst 1).

``base.RateLimiter`` is the interface; ``redis_gcra.RedisRateLimiter`` shares a limit across
every process and host through Redis, ``local.LocalRateLimiter`` holds it in one process.
"""
