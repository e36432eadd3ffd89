"""bench/boot.py: a boot's stages and the floor of a driver that costs one docker run,
from the marks the services' logs give each boot."""

import pytest

from bench import boot

SERVER = "b8fbdeb4-007e-452a-a2a2-4ce6307f7dcf"
PORT = "a76a2457-d2fd-460f-82ef-c0ba4d614d27"
COMPUTE = "2026-11-27 00:42:%s 5762 INFO %s [req-1 - - - - - -] %s"
AGENT = "2026-11-27 00:42:%s 5984 INFO neutron.plugins.ml2 [-] %s"


def one_boot(create=0.0, allocated=0.5, spawned=0.9, saved=0.95, seen=1.1):
    """A boot's marks as bench/boot.py's stage_marks finds them (seconds)."""
    return {"create": create, "claimed": create + 0.3, "network allocated": allocated,
            "container created": allocated + 0.01, "container started": allocated + 0.3,
            "port plugged": allocated + 0.34, "spawned": spawned, "ACTIVE saved": saved,
            "seen active": seen}


def test_the_stages_come_from_the_compute_and_agent_logs():
    compute = [
        COMPUTE % ("52.213", "nova.compute.claims",
                   "[instance: %s] Claim successful on node x" % SERVER),
        COMPUTE % ("52.732", "hybridhost.virt.docker.driver",
                   "Network of instance %s allocated: ports ['%s']" % (SERVER, PORT)),
        COMPUTE % ("53.153", "hybridhost.virt.docker.vifs",
                   "Port %s plugged into instance %s (veth)" % (PORT, SERVER)),
        COMPUTE % ("53.154", "hybridhost.virt.docker.driver", "Instance %s spawned" % SERVER),
    ]
    agent = [AGENT % ("52.894", "Port %s updated. Details: {}" % PORT),
             AGENT % ("53.161", "Configuration for devices up ['%s'] and devices down [] "
                                "completed." % PORT)]
    found = boot.stage_marks(compute, agent, SERVER, {"create": 0.0})
    assert found["network allocated"] - found["claimed"] == pytest.approx(0.519)
    assert found["agent reported up"] - found["agent saw port"] == pytest.approx(0.267)
    assert found["ACTIVE saved"] is None


def test_each_stage_is_the_median_time_since_the_stage_before_it():
    stages, saved, windows = boot.stage_breakdown(
        [one_boot(), one_boot(allocated=0.7, spawned=1.1, saved=1.2, seen=1.3),
         one_boot(allocated=0.6, spawned=1.0, saved=1.05, seen=1.2)])
    by_name = {stage: p50 for stage, _what, p50, _n in stages}
    assert by_name["network allocated"] == pytest.approx(0.3)
    assert by_name["seen active"] == pytest.approx(0.15)
    assert sorted(saved) == pytest.approx([0.95, 1.05, 1.2])
    assert windows[0] == (0.0, 0.95)


def test_outside_the_driver_is_everything_before_the_network_and_after_the_spawn():
    # 0.5 s to the network, 0.05 s to save ACTIVE, 0.15 s for the client to see it.
    assert boot.outside_driver(one_boot()) == pytest.approx(0.7)


def test_a_boot_with_a_missing_mark_is_left_out_of_the_floor():
    partial = one_boot()
    del partial["spawned"]
    assert boot.outside_driver(partial) is None
    floor = boot.driver_free_floor([partial, one_boot(), one_boot(seen=1.3)], 0.2)
    assert floor == pytest.approx(0.8 + 0.2)   # median of 0.7 and 0.9, plus docker run


def test_no_whole_boot_gives_no_floor():
    assert boot.driver_free_floor([{"create": 0.0}], 0.2) is None
