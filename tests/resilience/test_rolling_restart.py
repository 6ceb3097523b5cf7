"""Fault 7: a rolling upgrade under load: the migration first (``idp db upgrade``, which a replica
of the running version must survive), then each replica stopped (SIGTERM) and started again, one
at a time, waiting until the proxy sends it traffic again. No sign-in, refresh or client token
request fails; nothing is lost."""

from __future__ import annotations

from tests.resilience.cluster import Cluster
from tests.resilience.figures import record
from tests.resilience.load import Load, check_nothing_lost


def test_rolling_restart_under_load(cluster: Cluster) -> None:
    with Load(cluster) as load:
        load.run_for(2)
        cluster.idp(["db", "upgrade"])
        for replica in cluster.replicas:
            replica.stop()
            load.run_for(1)
            replica.start()
            cluster.wait_all_up()
            load.run_for(1)
        load.run_for(2)
    assert load.failures() == {}, load.summary()
    assert not load.server_errors, load.summary()
    stored = check_nothing_lost(cluster, load)
    record("Rolling restart of the three replicas (after idp db upgrade)", load, stored)
