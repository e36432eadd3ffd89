"""The pure repair decisions: timeouts, back-off, giving up, and coming back."""

import pytest

from hybridhost.watcher import probes
from hybridhost.watcher import repairs
from hybridhost.watcher import rpc
from hybridhost.watcher import topology

SETTINGS = topology.Settings(hang_timeout=5, rpc_hang_timeout=60, max_repairs=3,
                             repair_backoff=10, reset_after=300)
ALIVE = probes.ProcessFacts(7, True, "sleeping")
STOPPED = probes.ProcessFacts(7, True, "stopped")


def _obs(process=ALIVE, state="RUNNING", ping=None):
    return repairs.Observation(state, process, ping, "no answer" if ping else None)


@pytest.fixture
def r():
    return repairs.Repairs(SETTINGS)


def test_a_running_answering_program_is_healthy(r):
    decision = r.assess("p", _obs(), 0)
    assert (decision.action, decision.health) == (None, repairs.HEALTHY)


@pytest.mark.parametrize("state,health", [("STARTING", "degraded"), ("BACKOFF", "degraded"),
                                          ("STOPPED", "down"), ("EXITED", "down")])
def test_other_states_are_reported_not_repaired(r, state, health):
    decision = r.assess("p", _obs(None, state), 0)
    assert (decision.action, decision.health) == (None, health)


def test_a_stopped_process_is_restarted_after_the_hang_timeout(r):
    assert r.assess("p", _obs(STOPPED), 0).action is None
    waiting = r.assess("p", _obs(STOPPED), 3.9)
    assert waiting.action is None and waiting.health == repairs.DEGRADED
    assert "stopped (state stopped) for 4 s (repair after 5 s)" in waiting.reason
    # A tick a little early still repairs (repairs.SLACK).
    decision = r.assess("p", _obs(STOPPED), 4.5)
    assert decision.action == repairs.KILL_RESTART
    assert decision.reason == "its process 7 is stopped (state stopped) (repair 1 of 3)"


def test_a_silent_rpc_server_is_restarted_after_the_rpc_hang_timeout(r):
    r.assess("p", _obs(ping=rpc.SILENT), 0)
    assert r.assess("p", _obs(ping=rpc.SILENT), 58.9).action is None
    assert r.assess("p", _obs(ping=rpc.SILENT), 60).action == repairs.RESTART


def test_an_answer_in_between_starts_the_wait_again(r):
    r.assess("p", _obs(ping=rpc.SILENT), 0)
    r.assess("p", _obs(), 30)
    assert r.assess("p", _obs(ping=rpc.SILENT), 70).action is None


def test_fatal_is_started_at_once(r):
    decision = r.assess("p", _obs(None, "FATAL"), 0)
    assert decision.action == repairs.START and "FATAL" in decision.reason


def test_repairs_back_off_doubling_then_give_up(r):
    """Repairs at 0, then not before 10 s, then not before 20 s more; the fourth
    trouble within reset_after gives up."""
    assert r.assess("p", _obs(None, "FATAL"), 0).action == repairs.START
    backing = r.assess("p", _obs(None, "FATAL"), 5)
    assert backing.action is None and "next repair in 5 s (back-off)" in backing.reason
    assert r.assess("p", _obs(None, "FATAL"), 10).action == repairs.START
    assert r.assess("p", _obs(None, "FATAL"), 29).action is None
    assert r.assess("p", _obs(None, "FATAL"), 30).action == repairs.START
    given_up = r.assess("p", _obs(None, "FATAL"), 200)
    assert given_up.action == repairs.GIVE_UP and given_up.health == repairs.FAILED
    assert "after 3 repairs within 300 s" in given_up.reason
    again = r.assess("p", _obs(None, "STOPPED"), 210)
    assert again.action is None and again.health == repairs.FAILED
    assert r.failed("p") == given_up.reason


def test_crashes_count_and_the_fourth_gives_up(r):
    for when in (0, 10, 20):
        decision = r.crashed("p", when)
        assert decision.action is None and decision.health == repairs.DEGRADED
    assert "trouble 3 of 3 within 300 s" in decision.reason
    last = r.crashed("p", 30)
    assert last.action == repairs.GIVE_UP and "crashed 4 times within 300 s" in last.reason


def test_old_crashes_are_forgotten_after_reset_after(r):
    for when in (0, 10, 20):
        r.crashed("p", when)
    assert r.crashed("p", 400).action is None


def test_a_given_up_program_started_by_hand_is_watched_again(r):
    for when in (0, 1, 2, 3):
        r.crashed("p", when)
    back = r.assess("p", _obs(), 50)
    assert back.health == repairs.HEALTHY and "watched again" in back.reason
    assert r.failed("p") is None
    assert r.crashed("p", 51).action is None


def test_programs_are_counted_apart(r):
    for when in (0, 1, 2):
        r.crashed("a", when)
    assert r.crashed("b", 3).action is None
