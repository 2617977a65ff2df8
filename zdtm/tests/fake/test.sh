#!/bin/sh
# A fake zdtm test: daemonizes, writes its pid file, and on SIGTERM writes PASS (or, by
# its name, FAIL, or nothing) to its out file. Its name picks the misbehaviour.
name=$(basename "$0")
for a; do
	case $a in
	--pidfile=*) pidf=${a#*=} ;;
	--outfile=*) outf=${a#*=} ;;
	esac
done
case $name in
nostart*) echo "ERR: $name cannot start" >"$outf"; exit 1 ;;
# Like zdtm's tests with an external helper: its log must not exist yet.
leftover*)
	if [ -z "$FAKE_RESTORE" ]; then
		if [ -e "$outf.external" ]; then echo "ERR: $outf.external exists" >"$outf"; exit 1; fi
		: >"$outf.external"
		mkdir "$name.test" || exit 1
	fi
	;;
esac
rm -f "$name.ready"
(
	# The trap first: the runner may send SIGTERM as soon as the pid file exists.
	case $name in
	noterm*) trap '' TERM ;;
	checkfail*) trap 'echo "FAIL: $name found its state changed" >"$outf"; exit 1' TERM ;;
	*) trap 'echo "$(date +%T): PASS" >"$outf"; exit 0' TERM ;;
	esac
	case $name in
	isolate*)
		hostname "zdtm-fake-$$"
		mkdir -p "$name.mnt" && mount -t tmpfs none "$name.mnt"
		fd=$(cat leak_fd 2>/dev/null)
		if [ -n "$fd" ] && [ -e "/proc/self/fd/$fd" ]; then echo LEAK >"$name.leak"; else echo none >"$name.leak"; fi
		;;
	esac
	: >"$name.ready"
	while :; do sleep 0.05; done
) </dev/null >/dev/null 2>&1 &
# Like zdtm's test_daemon: the pid file appears once the test is set up.
while [ ! -e "$name.ready" ]; do sleep 0.01; done
echo $! >"$pidf"
