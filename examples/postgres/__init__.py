"""PostgreSQL 15, a primary and a streaming replica, as a declared target with a psycopg 3 client."""

from harness.declare import declared_target

Target = declared_target(__file__)
