#!/usr/bin/env bash
# Runs xorm's own integration tests (xorm.io/xorm/tests, what its Makefile's test-mysql target runs) against
# rawmysql on a MySQL/MariaDB server (or, with DRIVER=mysql, against go-sql-driver/mysql as the reference), and
# prints PASS/FAIL/SKIP per test and the totals. Not part of CI. xorm's code comes from the Go module proxy into a
# temporary directory at run time and is never committed.
#
#   compat/upstream/xorm.sh [go test -run regexp]
#
# Environment: MYSQL_TEST_ADDR (default 127.0.0.1:3306), MYSQL_TEST_USER (root), MYSQL_TEST_PASS (empty),
# XORM_DBNAME (xorm_suite; created when missing), XORM_VERSION (v1.4.3, the newest release), XORM_DSN_PARAMS (the
# DSN's parameters, default charset=utf8 as xorm's Makefile), XORM_FLAGS (the suite's flags besides -db and
# -conn_str, default "-cache=false -quote=always" as the Makefile).
# DRIVER=rawmysql (default) or mysql. KEEP=1 keeps the scratch directory, VERBOSE=1 prints each failure's output.
# RACE=1 builds the suite with -race (and cgo).
# Built with CGO_ENABLED=0 unless RACE is set (the Makefile adds -race): only the mysql driver is used.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/lib-sqlx-xorm.sh"
version=${XORM_VERSION:-v1.4.3}
driver=${DRIVER:-rawmysql}
filter=${1:-.}
addr=${MYSQL_TEST_ADDR:-127.0.0.1:3306}
user=${MYSQL_TEST_USER:-root}
pass=${MYSQL_TEST_PASS:-}
dbname=${XORM_DBNAME:-xorm_suite}
export GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=${CGO_ENABLED:-0}
[ -z "${RACE:-}" ] || CGO_ENABLED=1 # -race needs cgo

src=$(upstream_dir "xorm.io/xorm@$version")
[ -f "$src/tests/tests.go" ] || { echo "xorm.sh: no tests/tests.go in '$src'" >&2; exit 2; }
scratch_dir xormsuite
cp -r "$src/." "$work/"
chmod -R u+w "$work"
create_db "$user:$pass@tcp($addr)/" "$dbname"

# The Dameng driver (gitee.com/travelliu/dm) is not on the Go module proxy: its blank import goes (it only
# registers the "dm" driver name), and so does its requirement.
sed -i '\#_ "gitee.com/travelliu/dm"#d' "$work/tests/engine_test.go"
(cd "$work" && go mod edit -droprequire gitee.com/travelliu/dm)
# The suite creates a database named xorm_test on the server whatever the DSN names; this script creates its own.
sed -i 's/db.Exec("CREATE DATABASE IF NOT EXISTS xorm_test")/db.Exec("SELECT 1")/' "$work/tests/tests.go"
grep -q 'db.Exec("SELECT 1")' "$work/tests/tests.go" || { echo "xorm.sh: tests.go rewrite failed" >&2; exit 2; }
if [ "$driver" != mysql ]; then
	# The same tests with -db=mysql, the name "mysql" registered by rawmysql and go-sql-driver no longer linked.
	sed -i '\#_ "github.com/go-sql-driver/mysql"#d' "$work/tests/engine_test.go"
	! grep -rn 'go-sql-driver' "$work"/tests/*.go || { echo "xorm.sh: go-sql-driver still imported (above)" >&2; exit 2; }
	cp "$here/xorm_shim_test.go.in" "$work/tests/rawmysql_shim_test.go"
	(cd "$work" && go mod edit -require github.com/rawmysql/rawmysql@v0.0.0 -replace "github.com/rawmysql/rawmysql=$root" &&
		{ go mod tidy >/dev/null 2>&1 || go mod tidy; })
fi
cp "$here/xorm_testmain_test.go.in" "$work/tests/main_test.go"
(cd "$work" && go test -c ${RACE:+-race} -o "$work/suite.test" ./tests) || { echo "xorm.sh: the suite does not compile" >&2; exit 2; }
[ "$driver" = mysql ] || require_rawmysql_only "$work/suite.test"

read -r -a flags <<<"${XORM_FLAGS:--cache=false -quote=always}"
run_tests "$work/tests" "$work/suite.test" -db=mysql "${flags[@]}" \
	-conn_str="$user:$pass@tcp($addr)/$dbname?${XORM_DSN_PARAMS:-charset=utf8}"
grep -h '^mysql driver under test:' "$work"/tests/run.1.log | head -n 1
if [ "$driver" != mysql ] && ! grep -q '^mysql driver under test: \*rawmysql\.Driver' "$work"/tests/run.1.log; then
	echo "xorm.sh: the suite did not run on rawmysql" >&2; exit 2
fi
show_failures "$work/tests"
echo "xorm $version driver=$driver server=$addr: $totals"
[ ${#failed[@]} -eq 0 ] || echo "failed: ${failed[*]}"
