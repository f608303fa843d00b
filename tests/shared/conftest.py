"""Tests of the shared state run against one real Redis for the session."""

from tests.support.redis import redis_server, redis_session

__all__ = ["redis_server", "redis_session"]  # fixtures
