"""bench/density.py's figures (bench/density_stats.py): launch buckets, the p95 growth,
throughput, what fits, dead-VLAN episodes, consoles, peers and container memory."""

import datetime

from bench import density_stats as stats


class TestBuckets:
    def test_ranges_follow_the_issue_and_are_cut_at_the_count(self):
        """1-10, 11-50, 51-100 (the issue's targets), cut at the run's size."""
        assert stats.bucket_ranges(100) == [(1, 10), (11, 50), (51, 100)]
        assert stats.bucket_ranges(20) == [(1, 10), (11, 20)]
        assert stats.bucket_ranges(7) == [(1, 7)]
        assert stats.bucket_ranges(120) == [(1, 10), (11, 50), (51, 100), (101, 120)]

    def test_each_bucket_holds_its_launches_and_a_failed_boot_has_no_figure(self):
        durations = [1.0] * 10 + [2.0] * 9 + [None]
        rows = stats.buckets(durations)
        assert [row["name"] for row in rows] == ["1-10", "11-20", "overall"]
        assert rows[0] == {"name": "1-10", "n": 10, "p50_s": 1.0, "p95_s": 1.0,
                           "max_s": 1.0, "missing": 0}
        assert (rows[1]["n"], rows[1]["missing"], rows[1]["p50_s"]) == (9, 1, 2.0)
        assert (rows[2]["n"], rows[2]["missing"], rows[2]["max_s"]) == (19, 1, 2.0)

    def test_p95_is_the_nearest_rank(self):
        samples = [float(i) for i in range(1, 21)]
        assert stats.percentile(samples, 0.95) == 19.0
        assert stats.summary("x", samples)["p95_s"] == 19.0

    def test_an_empty_bucket_has_no_figures(self):
        assert stats.summary("x", []) == {"name": "x", "n": 0, "p50_s": None,
                                          "p95_s": None, "max_s": None}


class TestGrowth:
    def test_51_100_over_1_10_at_full_size(self):
        rows = stats.buckets([2.0] * 10 + [2.5] * 40 + [3.0] * 50)
        assert stats.p95_growth(rows) == (1.5, "51-100", "1-10")

    def test_the_last_bucket_when_smaller(self):
        rows = stats.buckets([2.0] * 10 + [5.0] * 10)
        assert stats.p95_growth(rows) == (2.5, "11-20", "1-10")

    def test_none_with_one_bucket(self):
        assert stats.p95_growth(stats.buckets([1.0] * 10)) == (None, None, None)

    def test_per_minute(self):
        assert stats.per_minute(30, 120.0) == 15.0
        assert stats.per_minute(3, 0) is None


class TestCapacity:
    INVENTORY = {"VCPU": {"total": 1, "reserved": 0, "allocation_ratio": 128.0,
                          "max_unit": 1},
                 "MEMORY_MB": {"total": 11028, "reserved": 0, "allocation_ratio": 1.0,
                               "max_unit": 11028},
                 "DISK_GB": {"total": 120, "reserved": 0, "allocation_ratio": 1.0,
                             "max_unit": 120}}

    def test_the_scarcest_resource_decides(self):
        """This lab's Docker side: 128 vCPU slots, but 120 GB of disk at 1 GB each."""
        need = {"VCPU": 1, "MEMORY_MB": 64, "DISK_GB": 1}
        assert stats.placement_room(self.INVENTORY, {}, need) == 120
        assert stats.placement_room(self.INVENTORY, {"DISK_GB": 100}, need) == 20
        assert stats.placement_room(self.INVENTORY, {"MEMORY_MB": 11000}, need) == 0

    def test_a_flavor_above_max_unit_or_of_a_missing_class_fits_nowhere(self):
        assert stats.placement_room(self.INVENTORY, {}, {"VCPU": 2}) == 0
        assert stats.placement_room(self.INVENTORY, {}, {"PCPU": 1}) == 0

    def test_quota_shortfalls_and_unlimited(self):
        quotas = {"instances": (132, 30), "cores": (-1, 500), "ram": (51200, 0)}
        wanted = {"instances": 104, "cores": 104, "ram": 6912}
        assert stats.quota_shortfalls(quotas, wanted) == [("instances", 104, 102)]


class TestDeadVlanWatch:
    def test_an_episode_from_first_to_last_sample_and_how_it_ended(self):
        watch = stats.DeadVlanWatch()
        watch.observe(1.0, {"hhd1": (4095, "vm-a"), "hhd2": (1, "vm-b")})
        watch.observe(2.0, {"hhd1": (4095, "vm-a"), "hhd2": (4095, "vm-b")})
        watch.observe(3.0, {"hhd1": (1, "vm-a"), "hhd2": (4095, "vm-b")})
        watch.observe(4.0, {"hhd1": (1, "vm-a")})
        first, second = (episode.as_dict() for episode in watch.episodes)
        assert first == {"port": "hhd1", "instance": "vm-a", "first_seen_s": 1.0,
                         "last_seen_s": 2.0, "seen_for_s": 1.0, "samples": 2,
                         "ended": "retagged 1"}
        assert (second["port"], second["seen_for_s"], second["ended"]) == (
            "hhd2", 1.0, "port deleted")
        assert (watch.samples, watch.ports_seen) == (4, {"hhd1", "hhd2"})

    def test_a_port_back_on_4095_is_a_new_episode_and_one_left_open_says_so(self):
        watch = stats.DeadVlanWatch()
        for when, tag in ((1.0, 4095), (2.0, None), (3.0, 4095)):
            watch.observe(when, {"p": (tag, "")})
        assert [(e.first_s, e.ended) for e in watch.episodes] == [
            (1.0, "retagged None"), (3.0, "still on VLAN 4095 at the end")]

    def test_no_episode_without_4095(self):
        watch = stats.DeadVlanWatch()
        watch.observe(1.0, {"p": (3, "")})
        assert watch.episodes == []


class TestReachabilityAndMemory:
    def test_console_reached_reads_the_probe_lines_only(self):
        text = ("HYBRIDHOST-GUEST ready ip=10.77.0.5 uptime=3\n"
                "HYBRIDHOST-PING 10.77.0.7 ok\nHYBRIDHOST-HTTP 10.77.0.8 ok\n"
                "HYBRIDHOST-PING 10.77.0.9 ok\r\n")
        assert stats.console_reached(text) == {"10.77.0.7", "10.77.0.9"}
        assert stats.console_reached(None) == set()

    def test_two_peers_are_others_and_repeatable(self):
        peers = stats.two_peers(10, seed=3)
        assert peers == stats.two_peers(10, seed=3)
        assert all(len(set(p)) == 2 and i not in p for i, p in enumerate(peers))
        assert stats.two_peers(2, seed=1) == [[1], [0]]

    def test_container_memory_as_docker_stats_counts_it(self):
        v1 = {"memory_stats": {"usage": 5000, "stats": {"total_inactive_file": 1000}}}
        v2 = {"memory_stats": {"usage": 5000, "stats": {"inactive_file": 1500}}}
        assert stats.container_memory(v1) == 4000
        assert stats.container_memory(v2) == 3500
        assert stats.container_memory({"memory_stats": {}}) is None

    def test_cpu_deltas_per_boot(self):
        before = {"control-plane": 100.0, "nova-compute-docker": 10.0}
        after = {"control-plane": 120.0, "nova-compute-docker": 14.0, "new": 1.0}
        assert stats.cpu_deltas(before, after, 10) == {
            "control-plane": 2.0, "new": 0.1, "nova-compute-docker": 0.4}
        assert stats.cpu_deltas(before, after, 0) == {}


def test_active_saved_reads_nova_computes_line_once_per_instance():
    uuid = "0ff20c26-4385-4898-baaa-26dc41a31157"
    line = ("2026-11-25 23:23:36.210 12398 INFO nova.compute.manager [req-1 - - - - -] "
            "[instance: %s] Took 5.36 seconds to build instance." % uuid)
    found = stats.active_saved(["noise", line, line.replace("36.210", "40.000")])
    assert found == {uuid: datetime.datetime(2026, 11, 25, 23, 23, 36, 210000).timestamp()}


def test_cpu_above_idle_takes_the_idle_rate_over_the_phase_off_each_boot():
    per_boot = {"control-plane": 2.0, "nova-compute-docker": 0.4}
    idle = {"control-plane": 0.15}
    assert stats.cpu_above_idle(per_boot, idle, phase_s=40.0, boots=10) == {
        "control-plane": 1.4, "nova-compute-docker": 0.4}
    assert stats.cpu_above_idle(per_boot, idle, 40.0, 0) == {}
