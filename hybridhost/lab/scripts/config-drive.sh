#!/bin/sh
uptime() { cut -d' ' -f1 /proc/uptime; }
none() { echo "HYBRIDHOST-GUEST config-drive=$1 uptime=$(uptime)"; exit 1; }
n=0
# shellcheck disable=SC2170 # WAIT_TENTHS is a placeholder: a number once built
while [ ! -b /dev/sr0 ] && [ $n -lt WAIT_TENTHS ]; do usleep 100000; n=$((n+1)); done
[ -b /dev/sr0 ] || none absent
mkdir -p /run/config-drive
mount -t iso9660 -o ro /dev/sr0 /run/config-drive 2>/dev/null || none unreadable
json=$(cat /run/config-drive/openstack/latest/network_data.json 2>/dev/null)
cp /run/config-drive/openstack/latest/meta_data.json /run/meta_data.json 2>/dev/null
umount /run/config-drive
# First value of a key in the one-line JSON: "key": "value" or "key": 123.
field() {
  echo "$json" | grep -o "\"$1\": *\"*[^\",}]*" | head -n 1 | sed 's/.*: *"*//'
}
echo "$json" | grep -q '"type": *"ipv4"' || none no-static-ipv4
ip=$(field ip_address)
mask=$(field netmask)
# shellcheck disable=SC2015 # meant: 'none' runs when either test fails
[ -n "$ip" ] && [ -n "$mask" ] || none no-address
eval "$(ipcalc -p "$ip" "$mask")"
ip -4 addr flush dev eth0
ip addr add "$ip/$PREFIX" dev eth0
mtu=$(field mtu)
case "$mtu" in ''|null) ;; *) ip link set dev eth0 mtu "$mtu";; esac
router=$(field gateway)
[ -n "$router" ] && ip route add default via "$router" dev eth0
echo "$ip/$PREFIX" > /run/hh-ip
echo "HYBRIDHOST-GUEST ip=$ip prefix=$PREFIX router=${router:-none} source=config-drive uptime=$(uptime)"
