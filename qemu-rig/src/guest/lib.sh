# Helpers for scenario scripts (/rig/lib.sh, sourced before /rig/scenario.sh).

# rig_result NAME PASS|FAIL [DETAIL...]: report one named result to the host.
rig_result() {
	local name="$1" status="$2"
	shift 2
	echo "@@RIG result $name $status $*"
}

# rig_check NAME CMD [ARGS...]: run CMD; PASS if it exits 0, else FAIL with its status.
rig_check() {
	local name="$1"
	shift
	if "$@"; then
		rig_result "$name" PASS
	else
		rig_result "$name" FAIL "exit $?: $*"
	fi
}

# rig_fetch PATH...: send regular files to the host (base64); usable at any time.
rig_fetch() {
	local f
	for f in "$@"; do
		if [ -f "$f" ]; then
			echo "@@RIG file $(stat -c %s "$f") $f"
			base64 "$f"
			echo "@@RIG end"
		else
			echo "@@RIG missing $f"
		fi
	done
}

# rig_wait_file PATH [SECONDS]: wait until PATH exists and is not empty (default 30 s).
rig_wait_file() {
	local i=0 limit=$((${2:-30} * 10))
	while [ ! -s "$1" ]; do
		i=$((i + 1))
		[ "$i" -gt "$limit" ] && return 1
		sleep 0.1
	done
	return 0
}
