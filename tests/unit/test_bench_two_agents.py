"""bench/two_agents.py's pure parts: its arguments, who pings whom, which containers a
layout lost, the report and its exit status, and the second agent's configuration."""

import configparser

import pytest

from bench import two_agents
from bench import two_agents_agent as second
from bench import two_agents_stats as stats

LAB_AGENT_CONF = """\
# Rendered by 'hybridhost render'.
[DEFAULT]
host = vm-kvm
state_path = /var/lib/hybridhost/neutron
log_dir = /var/log/hybridhost
log_file = neutron-openvswitch-agent.log
transport_url = rabbit://u:p@127.0.0.1:5672/

[agent]
tunnel_types = vxlan

[ovs]
integration_bridge = br-int
tunnel_bridge = br-tun
local_ip = 127.0.0.1
of_listen_port = 6633

[oslo_concurrency]
lock_path = /var/lib/hybridhost/neutron/locks

[privsep]
helper_command = /venv/bin/privsep-helper --config-file /etc/hybridhost/conf/agent.conf
"""


class TestArguments:
    def test_defaults_are_ten_containers_for_a_minute(self):
        args = two_agents.parse_args([])
        assert (args.containers, args.period, args.interval, args.json) == (10, 60.0, 1.0,
                                                                           False)
        assert not args.share_lab

    def test_fewer_than_ten_is_refused_unless_allowed(self, capsys):
        with pytest.raises(SystemExit) as exit_info:
            two_agents.parse_args(["--containers", "9"])
        assert exit_info.value.code == 2
        assert "--allow-small" in capsys.readouterr().err
        assert two_agents.parse_args(["--containers", "3", "--allow-small"]).containers == 3

    def test_a_ring_needs_two_containers_even_when_allowed_small(self):
        with pytest.raises(SystemExit):
            two_agents.parse_args(["--containers", "1", "--allow-small"])

    @pytest.mark.parametrize("argv", [["--period", "0"], ["--interval", "-1"],
                                      ["--concurrency", "0"], ["--poll", "0"]])
    def test_nonsense_times_are_refused(self, argv):
        with pytest.raises(SystemExit):
            two_agents.parse_args(argv)

    def test_help_explains_the_layouts_and_the_exit_status(self, capsys):
        with pytest.raises(SystemExit):
            two_agents.parse_args(["--help"])
        text = capsys.readouterr().out
        assert "second neutron-openvswitch-agent" in text
        assert "Exit status 0 only when the hybridhost layout lost none" in text


class TestRing:
    def test_each_pings_the_next_two(self):
        assert stats.ring_pairs(4) == [(0, 1), (0, 2), (1, 2), (1, 3), (2, 3), (2, 0),
                                       (3, 0), (3, 1)]

    def test_two_containers_ping_each_other_once_each(self):
        assert stats.ring_pairs(2) == [(0, 1), (1, 0)]

    def test_one_answered_ping_clears_both_ends(self):
        results = {pair: False for pair in stats.ring_pairs(5)}
        results[(0, 1)] = True
        assert stats.cut_off(results, 5) == [2, 3, 4]

    def test_a_dead_container_is_cut_off_and_its_neighbours_are_not(self):
        results = {pair: 2 not in pair for pair in stats.ring_pairs(5)}
        assert stats.cut_off(results, 5) == [2]


class TestLost:
    NAMES = ["c-1", "c-2", "c-3", "c-4"]

    def _rounds(self, dead_index):
        fine = {pair: True for pair in stats.ring_pairs(4)}
        cut = {pair: dead_index not in pair for pair in stats.ring_pairs(4)}
        return [(10.0, fine), (11.5, cut), (13.0, cut), (14.0, fine)]

    def test_cut_off_says_when(self):
        found = stats.lost(self.NAMES, self._rounds(2), {}, {})
        assert found == {"c-3": ["cut off (no ping to or from it answered) in 2 of 4 ping "
                                 "rounds (11.5s to 13.0s)"]}

    def test_dead_vlan_and_failed_boots_count_once_per_container_in_ring_order(self):
        found = stats.lost(self.NAMES, self._rounds(2),
                           {"c-3": [(14.0, 2.5), (12.0, 1.0)], "c-1": [(5.0, 0.0)], "c-4": []},
                           {"c-2": "ERROR: no valid host"})
        assert list(found) == ["c-1", "c-2", "c-3"]
        assert found["c-1"] == ["on VLAN 4095 once from 5.0s, 0.0s in all"]
        assert found["c-2"] == ["not booted: ERROR: no valid host"]
        assert found["c-3"][0] == "on VLAN 4095 2 times from 12.0s, 3.5s in all"
        assert found["c-3"][1].startswith("cut off")

    def test_a_failed_boot_is_not_also_reported_cut_off(self):
        rounds = self._rounds(1)
        assert stats.lost(self.NAMES, rounds, {}, {"c-2": "boom"}) == {
            "c-2": ["not booted: boom"]}

    def test_dead_vlan_episodes_are_matched_by_instance_or_port_name(self):
        episodes = [{"port": "hhdaaa", "instance": "", "first_seen_s": 3.0,
                     "seen_for_s": 2.0},
                    {"port": "tapvm", "instance": "vm-uuid", "first_seen_s": 4.0,
                     "seen_for_s": 0.0},
                    {"port": "hhdbbb", "instance": "srv-2", "first_seen_s": 5.0,
                     "seen_for_s": 1.0}]
        found = stats.dead_by_instance(episodes, {"hhdaaa": "c-1", "srv-2": "c-2"})
        assert found == {"c-1": [(3.0, 2.0)], "c-2": [(5.0, 1.0)]}


def _row(layout, lost=0, problems=()):
    names = ["c-%d" % i for i in range(1, 11)]
    failed = {name: "boom" for name in names[:lost]}
    return stats.layout_result(layout, names, [], {}, failed, problems)


class TestVerdict:
    def test_zero_only_when_the_hybridhost_layout_lost_none_and_all_was_clean(self):
        status, notes = stats.verdict(_row(stats.OLD, lost=4), _row(stats.NEW))
        assert status == 0
        assert notes == ["ok: the hybridhost layout lost none of 10 containers"]

    def test_a_loss_in_the_hybridhost_layout_fails(self):
        status, notes = stats.verdict(_row(stats.OLD, lost=4), _row(stats.NEW, lost=1))
        assert status == 1
        assert notes == ["FAILED: the hybridhost layout lost 1 container(s)"]

    def test_an_unclean_run_fails_whichever_layout(self):
        status, notes = stats.verdict(_row(stats.OLD, lost=4, problems=["left: x"]),
                                      _row(stats.NEW))
        assert status == 1
        assert notes == ["FAILED: old layout: left: x"]

    def test_an_old_layout_that_lost_nothing_is_said_but_does_not_fail(self):
        status, notes = stats.verdict(_row(stats.OLD), _row(stats.NEW))
        assert status == 0
        assert "did not reproduce" in notes[0]


class TestReport:
    def test_the_boots_median_is_a_side_figure(self):
        row = stats.layout_result(stats.NEW, ["a", "b", "c"], [], {}, {}, [], [4.0, 9.0, 5.0])
        assert row["boot_p50_s"] == 5.0
        assert "create -> ACTIVE p50 5.0s" in stats.lines(stats.result(row, row))[0]

    def test_counts_side_by_side_and_which(self):
        found = stats.result(_row(stats.OLD, lost=2), _row(stats.NEW), {"machine": "m"})
        assert (found["ok"], found["lost"], found["machine"]) == (
            True, {"old": 2, "hybridhost": 0}, "m")
        text = stats.lines(found)
        assert text[0] == ("old layout (a second agent for the Docker side's host): 2 of 10 "
                           "containers lost (0 seen on VLAN 4095; 0 ping rounds; "
                           "create -> ACTIVE p50 -)")
        assert text[1:3] == ["  c-1: not booted: boom", "  c-2: not booted: boom"]
        table = text[text.index("") + 1:text.index("") + 4]
        assert table[0].split()[-2:] == ["lost", "of"]
        assert table[1].split()[-2:] == ["2", "10"]
        assert table[2].startswith("hybridhost layout (one agent)")
        assert table[2].split()[-2:] == ["0", "10"]
        assert text[-2:] == ["machine: m",
                             "ok: the hybridhost layout lost none of 10 containers"]


class TestSecondAgentConfig:
    def _parse(self, text):
        parser = configparser.RawConfigParser(interpolation=None)
        parser.read_string(text)
        return parser

    def test_only_what_two_agents_cannot_share_changes(self):
        parser = self._parse(second.render(LAB_AGENT_CONF, "vm-docker", "/tmp/w",
                                           "/tmp/w/agent.conf", 40000))
        assert parser.get("DEFAULT", "host") == "vm-docker"
        assert parser.get("DEFAULT", "state_path") == "/tmp/w/state"
        assert (parser.get("DEFAULT", "log_dir"), parser.get("DEFAULT", "log_file")) == (
            "/tmp/w", "neutron-openvswitch-agent.log")
        assert parser.get("oslo_concurrency", "lock_path") == "/tmp/w/state/locks"
        assert parser.get("ovs", "of_listen_port") == "40000"
        assert parser.get("privsep", "helper_command") == (
            "/venv/bin/privsep-helper --config-file /tmp/w/agent.conf")
        assert parser.get("DEFAULT", "transport_url") == "rabbit://u:p@127.0.0.1:5672/"
        assert (parser.get("ovs", "integration_bridge"), parser.get("ovs", "local_ip"),
                parser.get("agent", "tunnel_types")) == ("br-int", "127.0.0.1", "vxlan")

    def test_missing_sections_are_added(self):
        text = "[DEFAULT]\nhost = a\n"
        parser = self._parse(second.render(text, "b", "/w", "/w/c.conf", 1))
        assert parser.get("oslo_concurrency", "lock_path") == "/w/state/locks"
        assert not parser.has_section("privsep")

    def test_bridges_are_read_and_no_tunnel_bridge_without_tunnels(self):
        assert second.bridges(LAB_AGENT_CONF) == ("br-int", "br-tun")
        assert second.bridges("[ovs]\nintegration_bridge = br-x\n") == ("br-x", None)

    def test_environment_is_the_lab_programs_one(self):
        """``root_helper = env`` finds privsep-helper on PATH: the venv's bin first, as
        the lab's supervisord gives its programs."""
        found = second.environment({"PATH": "/usr/bin", "HOME": "/root"}, "/venv/bin",
                                   "/run/ovs")
        assert found == {"PATH": "/venv/bin:/usr/bin", "HOME": "/root",
                         "OVS_RUNDIR": "/run/ovs"}
