"""etcd 3.4 (Debian's ``etcd-server``) as a declared target: ``target.yaml`` and a v3 JSON-gateway client."""

from harness.declare import declared_target

Target = declared_target(__file__)
