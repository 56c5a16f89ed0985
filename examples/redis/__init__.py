"""Redis 7 (Debian's ``redis-server``), a primary and replicas, as a declared target with a RESP client."""

from harness.declare import declared_target

Target = declared_target(__file__)
