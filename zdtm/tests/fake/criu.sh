#!/bin/sh
# A fake criu: "dump" remembers how the task was started and kills it, "restore" starts
# it again and writes the new PID to --pidfile. The task's name picks the misbehaviour.
# Every call is appended to calls.log in the current (static) directory.
act=$1; shift
while [ $# -gt 0 ]; do
	case $1 in
	-D) dir=$2; shift ;;
	-o) log=$2; shift ;;
	-t) pid=$2; shift ;;
	--pidfile) pidfile=$2; shift ;;
	--feature) feature=$2; shift ;;
	esac
	shift
done
echo "$0 $act $pid$feature" >>calls.log
case $act in
check) [ "$feature" != missing ] ; exit $? ;;
dump)
	tr '\0' ' ' </proc/"$pid"/cmdline >"$dir/cmdline"
	case $(cat "$dir/cmdline") in
	*nodump*|*crfail*) echo "(00.000001) Error (fake.c:1): refusing to dump $pid" >"$dir/$log"; exit 1 ;;
	*hangdump*) sleep 1000 ;;
	esac
	kill -9 "$pid"
	echo "(00.000002) Dumping finished successfully" >"$dir/$log"
	;;
restore)
	case $(cat "$dir/cmdline") in
	*norestore*) echo "(00.000001) Error (fake.c:2): cannot restore" >"$dir/$log"; exit 1 ;;
	esac
	set -- $(cat "$dir/cmdline")
	FAKE_RESTORE=1 "$@" || exit 1
	for a; do case $a in --pidfile=*) cp "${a#*=}" "$pidfile" ;; esac; done
	echo "(00.000003) Restore finished successfully" >"$dir/$log"
	;;
esac
