#!/usr/bin/env bash
# Records the project's own reference captures into captures/ with tcpdump and
# dumpcap (real kernel traffic, not synthetic bytes). Run as root; needs
# tcpdump, tshark (dumpcap), python3, iproute2, iptables and ethtool.
# The files are committed; tests compare wirelab with tshark on each of them.
set -euo pipefail
cd "$(dirname "$0")/.."
out=captures
mkdir -p "$out"
peers="python3 scripts/peers.py"

# capture TOOL FILE FILTER -- COMMAND...: capture while COMMAND runs.
capture() {
  local tool=$1 file=$2 filter=$3; shift 4
  case $tool in
    lo) tcpdump -i lo --immediate-mode -B 65536 -U -s 262144 -w "$file" "$filter" 2>/dev/null & ;;
    lo96) tcpdump -i lo --immediate-mode -B 65536 -U -s 96 -w "$file" "$filter" 2>/dev/null & ;;
    any) tcpdump -i any --immediate-mode -B 65536 -U -w "$file" "$filter" 2>/dev/null & ;;
    anysll) tcpdump -i any -y LINUX_SLL --immediate-mode -B 65536 -U -w "$file" "$filter" 2>/dev/null & ;;
    ng) dumpcap -q -i lo -B 64 -w "$file" -f "$filter" 2>/dev/null & ;;
    ns) ip netns exec wl-b tcpdump -i veth-b --immediate-mode -B 65536 -U -w "$file" "$filter" 2>/dev/null & ;;
  esac
  local pid=$!
  sleep 1
  "$@"
  sleep 0.5
  kill -INT "$pid"
  wait "$pid" || true
  echo "$file: $(tshark -r "$file" 2>/dev/null | wc -l) frames"
}

capture lo "$out/lo_handshake_echo_teardown.pcap" "tcp" -- $peers exchange 2
capture lo "$out/lo_refused_rst.pcap" "tcp port 1" -- $peers refused 1
capture lo "$out/lo_abort_so_linger0.pcap" "tcp" -- $peers abort
capture lo "$out/lo_udp_icmp_port_unreachable.pcap" "udp or icmp" -- $peers udp 9
capture ng "$out/lo_ipv6_echo.pcapng" "ip6 and tcp" -- $peers exchange6
capture any "$out/any_sll2_echo.pcap" "host 127.0.0.1 and tcp" -- $peers exchange 1
capture anysll "$out/any_sll_echo.pcap" "host 127.0.0.1 and tcp" -- $peers exchange 1
capture lo96 "$out/lo_snaplen96_zero_window.pcap" "tcp" -- $peers zero_window

# Retransmissions: a private network namespace pair, every 7th data packet dropped.
ip netns del wl-a 2>/dev/null || true
ip netns del wl-b 2>/dev/null || true
ip netns add wl-a
ip netns add wl-b
ip link add veth-a netns wl-a type veth peer name veth-b netns wl-b
ip -n wl-a addr add 10.77.0.1/24 dev veth-a
ip -n wl-b addr add 10.77.0.2/24 dev veth-b
ip -n wl-a link set veth-a up
ip -n wl-b link set veth-b up
for ns in wl-a wl-b; do ip netns exec $ns ethtool -K veth-${ns#wl-} tso off gso off gro off >/dev/null 2>&1 || true; done
ip netns exec wl-a iptables -A OUTPUT -p tcp --dport 5001 -m length --length 1000: -m statistic --mode nth --every 7 --packet 3 -j DROP
ip netns exec wl-b $peers bulk_server 10.77.0.2 5001 &
sleep 0.5
capture ns "$out/netns_retransmissions.pcap" "tcp port 5001" -- ip netns exec wl-a $peers bulk 10.77.0.2 5001 300000
wait || true
ip netns del wl-a
ip netns del wl-b
