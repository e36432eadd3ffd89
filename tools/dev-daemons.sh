#!/usr/bin/env bash
# Start (start) or stop (stop) the system Open vSwitch and dockerd the Docker driver's
# functional tests use, at their default sockets. Only stops what it started itself
# (recorded in /run/hybridhost-dev-daemons). Idempotent.
set -euo pipefail
STATE=/run/hybridhost-dev-daemons
export OVS_RUNDIR=/var/run/openvswitch
DB=/var/lib/openvswitch/conf.db
SCHEMA=/usr/share/openvswitch/vswitch.ovsschema

start() {
    mkdir -p "$OVS_RUNDIR" /var/log/openvswitch /var/lib/openvswitch
    : >> "$STATE"
    if ! ovs-vsctl --timeout=2 show >/dev/null 2>&1; then
        [ -s "$DB" ] || ovsdb-tool create "$DB" "$SCHEMA"
        [ "$(ovsdb-tool needs-conversion "$DB" "$SCHEMA")" = no ] || ovsdb-tool convert "$DB" "$SCHEMA"
        ovsdb-server "$DB" --remote=punix:$OVS_RUNDIR/db.sock \
            --remote=db:Open_vSwitch,Open_vSwitch,manager_options \
            --pidfile --detach --log-file --unixctl=$OVS_RUNDIR/ovsdb-server.ctl
        ovs-vsctl --timeout=10 --no-wait init
        # The control sockets get the fixed names the lab gives them (a killed lab leaves
        # its sockets behind; a daemon binding the same name replaces the stale file).
        ovs-vswitchd --pidfile --detach --log-file --unixctl=$OVS_RUNDIR/ovs-vswitchd.ctl
        echo ovs >> "$STATE"
    fi
    if ! docker version >/dev/null 2>&1; then
        setsid nohup dockerd --iptables=false --ip-masq=false --bridge=none \
            > /var/log/hybridhost-dev-dockerd.log 2>&1 < /dev/null &
        for _ in $(seq 60); do docker version >/dev/null 2>&1 && break; sleep 0.5; done
        docker version --format 'dockerd {{.Server.Version}} (API {{.Server.APIVersion}})'
        echo docker >> "$STATE"
    fi
}

stop() {
    [ -f "$STATE" ] || return 0
    if grep -qx docker "$STATE"; then
        pid="$(cat /var/run/docker.pid 2>/dev/null || true)"
        if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
            # Wait: the next user of the socket (the lab's dockerd) must find it free.
            for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        fi
    fi
    if grep -qx ovs "$STATE"; then
        for daemon in ovs-vswitchd ovsdb-server; do
            # By the fixed socket name, else by pidfile (daemons started before it was fixed).
            ovs-appctl -t "$OVS_RUNDIR/$daemon.ctl" exit 2>/dev/null \
                || ovs-appctl -t "$daemon" exit 2>/dev/null || true
        done
    fi
    rm -f "$STATE"
}

"${1:-start}"
