"""memkv: a key-value store on one node, the smallest complete target a plugin can add (see
docs/extending.md). ``target`` plugs it into the harness, ``node`` is the service (standard library only),
``client`` the harness-side client."""
