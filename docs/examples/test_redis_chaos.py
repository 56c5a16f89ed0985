"""A complete chaos test written with the chaos-harness pytest fixtures (docs/pytest.md explains each step).

Copy this file into your own repository's tests and run it with pytest (chaos-harness installed, `chaos setup`
done): it starts a declared target (Redis 7, declared in a target.yaml; yours is named the same way, by its
registered name or its target.yaml path), drives a read/write/cas workload, isolates a replica with a network
partition and kills another, then checks that every operation the clients saw is linearizable.

    pytest test_redis_chaos.py --chaos-backend local --chaos-out reports

The verdict, the run bundle and its report.html are attached to the test's output (shown when it fails, or
with -rA) and to --junitxml as properties; `chaos summary reports/` indexes them with your other runs.
"""

from harness.schedule import Schedule


def test_redis_primary_only_survives_a_partition_and_a_kill(chaos_cluster, chaos_play, chaos_check):
    # 1. A declared target: mode, flags, options and the node count are checked as an experiment file's
    #    would be (a misspelled mode is refused, naming the valid ones).
    cluster = chaos_cluster("redis", nodes=3, mode="primary-only")

    # 2. The faults, as an experiment's faults.steps: times in seconds from the start of the workload.
    faults = Schedule.from_list(
        [
            {"kind": "partition", "at": 2, "duration": 3, "shape": "isolate", "nodes": ["n2"]},
            {"kind": "kill", "at": 6, "duration": 2, "nodes": ["n3"]},
        ]
    )

    # 3. The workload (the target's own, "kv": read / write / cas on a few keys), played by the harness's run
    #    interpreter exactly as `chaos run` plays it: workers, faults, heal, recovery, final reads.
    history = chaos_play(
        cluster,
        options={"keys": 3, "read": 2, "write": 1, "cas": 1},
        duration=10,
        seed=7,
        concurrency=4,
        rate=60,
        faults=faults,
        recovery=2,
    )

    # 4. The verdict: the checkers run on the history and weighed by the evidence (a run that proves nothing
    #    is never a pass); the bundle and report are written and attached to this test's output.
    verdict = chaos_check(history, {"linearizable": {"model": "kv", "budget": 30}}, expect="valid")
    assert verdict.passed, verdict
    assert verdict.evidence.faults_injected == 2
