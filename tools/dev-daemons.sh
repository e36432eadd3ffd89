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
            --pidfile --detach --log-file
        ovs-vsctl --timeout=10 --no-wait init
        ovs-vswitchd --pidfile --detach --log-file
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
        ovs-appctl -t ovs-vswitchd exit 2>/dev/null || true
        ovs-appctl -t ovsdb-server exit 2>/dev/null || true
    fi
    rm -f "$STATE"
}

"${1:-start}"
