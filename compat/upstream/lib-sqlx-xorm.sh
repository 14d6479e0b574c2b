# Shared by sqlx.sh and xorm.sh (sourced, not run): the upstream copy, the scratch directory, the test database,
# and running a compiled upstream test binary with a PASS/FAIL/SKIP line per top-level test and the totals.
# Needs $root (the repository) set by the caller.

# upstream_dir MODULE@VERSION: the module cache directory of an upstream release (downloaded through the proxy).
upstream_dir() {
	(cd "$root" && go mod download -json "$1") | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'
}

# scratch_dir PREFIX: a temporary directory, removed on exit unless KEEP is set.
scratch_dir() {
	work=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
	if [ -z "${KEEP:-}" ]; then trap 'rm -rf "$work"' EXIT; else echo "scratch: $work"; fi
}

# create_db DSN NAME: CREATE DATABASE IF NOT EXISTS through rawmysql's own command-line client (no mysql client
# needed). DSN has no database.
create_db() {
	(cd "$root/cmd/rawmysql" && go run . -dsn "$1" -e "CREATE DATABASE IF NOT EXISTS \`$2\`") >/dev/null ||
		{ echo "could not create database $2" >&2; exit 2; }
}

# require_rawmysql_only BINARY: fails when the test binary links go-sql-driver/mysql (DRIVER=rawmysql runs).
require_rawmysql_only() {
	if go version -m "$1" | grep -q 'github.com/go-sql-driver/mysql'; then
		echo "the test binary links go-sql-driver/mysql" >&2; exit 2
	fi
}

# run_tests DIR BINARY [ARGS...]: runs every top-level test BINARY lists (filtered by $filter) in one process with
# -test.v and -test.timeout $SUITE_TIMEOUT (default 30m); a test that ends the process (panic, timeout) is counted
# FAIL and the tests after it run again in a new process. Prints PASS/FAIL/SKIP per test; sets $totals and $failed.
run_tests() {
	local dir=$1 bin=$2
	shift 2
	local remaining round=0 log line name status pass=0 fail=0 skip=0
	remaining=$(cd "$dir" && "$bin" -test.list '.*' "$@" 2>/dev/null | grep -E '^Test' || true)
	if [ -z "$remaining" ]; then
		echo "no test to run: the binary lists none (did its TestMain fail?)" >&2
		(cd "$dir" && "$bin" -test.list '.*' "$@" 2>&1 | tail -n 20 >&2)
		exit 2
	fi
	remaining=$(echo "$remaining" | grep -E -- "${filter:-.}" || true)
	[ -n "$remaining" ] || { echo "no test matches '${filter:-.}'" >&2; exit 2; }
	failed=()
	declare -A seen=()
	while [ -n "$remaining" ]; do
		round=$((round + 1))
		log="$dir/run.$round.log"
		local re
		re="^($(echo "$remaining" | paste -sd '|'))\$"
		(cd "$dir" && "$bin" -test.run "$re" -test.v -test.count=1 -test.timeout "${SUITE_TIMEOUT:-30m}" "$@" \
			>"$log" 2>&1) || true
		local progressed=0
		while IFS= read -r line; do
			status=${line#--- }; status=${status%%:*}
			name=${line#--- *: }; name=${name%% *}
			[ -n "${seen[$name]:-}" ] && continue
			seen[$name]=$status
			progressed=1
			echo "$status $name"
			case $status in PASS) pass=$((pass + 1)) ;; SKIP) skip=$((skip + 1)) ;; *) fail=$((fail + 1)); failed+=("$name") ;; esac
		done < <(grep -E '^--- (PASS|FAIL|SKIP): Test' "$log" || true)
		# A test that was running when the process died has no result line: the last top-level RUN without one.
		name=$(grep -E '^=== RUN   Test[^/]*$' "$log" | sed 's/^=== RUN   //' | while read -r n; do
			[ -n "${seen[$n]:-}" ] || echo "$n"; done | tail -n 1)
		if [ -n "$name" ] && ! grep -q -- "^--- .*: $name " "$log"; then
			seen[$name]=FAIL
			progressed=1
			echo "FAIL $name (no result: the process died, see $(basename "$log"))"
			fail=$((fail + 1)); failed+=("$name")
		fi
		local next=""
		for name in $remaining; do [ -n "${seen[$name]:-}" ] || next+="$name"$'\n'; done
		remaining=${next%$'\n'}
		if [ -n "$remaining" ] && [ "$progressed" = 0 ]; then
			for name in $remaining; do echo "FAIL $name (never ran)"; fail=$((fail + 1)); failed+=("$name"); done
			tail -n 20 "$log" | sed 's/^/    /'
			break
		fi
	done
	totals="$pass passed, $fail failed, $skip skipped (of $((pass + fail + skip)))"
}

# show_failures DIR: with VERBOSE set, each failed test's output (the -test.v block of its own lines).
show_failures() {
	[ -n "${VERBOSE:-}" ] || return 0
	local name
	for name in "${failed[@]}"; do
		echo "---- $name"
		awk -v n="$name" '$0 ~ "^=== (RUN|CONT|PAUSE)   "n"($|/)" {p=1} $0 ~ "^=== (RUN|CONT)   " && $0 !~ "   "n"($|/)" {p=0} p' \
			"$1"/run.*.log | grep -v '^\[xorm\]' | tail -n 40 | sed 's/^/    /'
	done
}
