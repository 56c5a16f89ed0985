

# --- 6. local backend: clients connect directly unless a link fault acts on client links ------------------
def test_local_clients_dial_nodes_directly_unless_client_links_carry_link_faults() -> None:
    from harness.faults.link import proxied_links
    from harness.names import CLIENTS, LOCAL, PEERS
    from harness.platform import resolve_proxies

    assert resolve_proxies(LOCAL, None) == {PEERS}  # partitions act on peer proxies; clients go direct
    assert resolve_proxies(LOCAL, proxied_links([])) == {PEERS}
    assert resolve_proxies(LOCAL, {CLIENTS}) == {PEERS, CLIENTS}
    assert resolve_proxies("docker", None) == set()
