"""The Raft core shared by the kv and lock targets (standard library only)."""
