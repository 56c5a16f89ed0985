"""The network layer: partitions as data (``grudge``), the ``Net`` protocol, the Toxiproxy mesh and a fake.

``grudge`` holds pure constructors; ``base`` the protocol faults code against; ``toxiproxy`` is the only
module that talks to a Toxiproxy server; ``server`` runs one as a local subprocess; ``mesh`` applies faults
to a run's proxies; ``fake`` is an in-memory ``Net`` for unit tests.
"""
