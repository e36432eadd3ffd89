#!/bin/sh
# shellcheck disable=SC2154 # udhcpc sets interface, ip, mask, router, dns, mtu
# busybox udhcpc event script: configure eth0 from the lease (neutron's DHCP agent).
uptime() { cut -d' ' -f1 /proc/uptime; }
case "$1" in
  deconfig)
    ip -4 addr flush dev "$interface"
    ip link set "$interface" up
    ;;
  bound|renew)
    if [ "$(cat /run/hh-ip 2>/dev/null)" != "$ip/$mask" ]; then
      ip -4 addr flush dev "$interface"
      ip addr add "$ip/$mask" dev "$interface"
      for gw in $router; do ip route add default via "$gw" dev "$interface"; break; done
      [ -n "$mtu" ] && ip link set dev "$interface" mtu "$mtu"
      echo "$ip/$mask" > /run/hh-ip
      echo "HYBRIDHOST-GUEST ip=$ip prefix=$mask router=${router%% *} source=dhcp uptime=$(uptime)"
    fi
    : > /etc/resolv.conf
    for ns in $dns; do echo "nameserver $ns" >> /etc/resolv.conf; done
    ;;
esac
exit 0
