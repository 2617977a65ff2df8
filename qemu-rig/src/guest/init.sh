#!/bin/sh
# /init of the qemu-rig initramfs (PID 1): set the machine up, run /rig/scenario.sh once,
# print result markers on the serial console, send back /rig/fetch's files, power off.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
# Keep kernel chatter (below "error") off the console so it cannot split marker lines.
dmesg -n 4
. /rig/env
. /rig/lib.sh
echo "@@RIG boot $(cut -d' ' -f1 /proc/uptime) $(uname -r)"
ip link set lo up || echo "@@RIG warn loopback did not come up"
for m in $(cat /rig/modules); do
	modprobe "$m" || echo "@@RIG warn modprobe $m failed"
done
# The host kills QEMU at the scenario's deadline; this is a backstop for an orphaned guest.
(sleep $((RIG_DEADLINE + 30)); echo "@@RIG warn guest watchdog"; poweroff -f) &
cd /root
echo "@@RIG start $RIG_SCENARIO $(cut -d' ' -f1 /proc/uptime)"
sh -c '. /rig/lib.sh; . /rig/scenario.sh' </dev/null
echo "@@RIG exit $?"
while read -r pattern; do
	# Unquoted on purpose: a fetch entry may be a glob.
	[ -n "$pattern" ] && rig_fetch $pattern
done </rig/fetch
echo "@@RIG done $(cut -d' ' -f1 /proc/uptime)"
sync
poweroff -f
