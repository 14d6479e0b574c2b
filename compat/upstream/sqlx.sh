#!/usr/bin/env bash
# Runs sqlx's own tests (github.com/jmoiron/sqlx, root package: sqlx_test.go, sqlx_context_test.go, named_*_test.go,
# bind_test.go) against rawmysql on a MySQL/MariaDB server (or, with DRIVER=mysql, against go-sql-driver/mysql as
# the reference), and prints PASS/FAIL/SKIP per test and the totals. Not part of CI. sqlx's code comes from the
# Go module proxy into a temporary directory at run time and is never committed.
#
#   compat/upstream/sqlx.sh [go test -run regexp]
#
# Environment: MYSQL_TEST_ADDR (default 127.0.0.1:3306), MYSQL_TEST_USER (root), MYSQL_TEST_PASS (empty),
# SQLX_DBNAME (sqlx_suite; created when missing), SQLX_DSN_PARAMS (the DSN's parameters, default parseTime=true,
# which sqlx's tests add when missing), SQLX_VERSION (v1.4.0, the newest release). DRIVER=rawmysql (default) or
# mysql. KEEP=1 keeps the scratch directory, VERBOSE=1 prints each failure's output.
# RACE=1 builds the suite with -race (and cgo).
# Postgres and SQLite are skipped (sqlx's SQLX_POSTGRES_DSN=skip, SQLX_SQLITE_DSN=skip), and the binary is built
# with CGO_ENABLED=0 unless RACE is set (go-sqlite3 then builds as a stub; it is skipped anyway).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/lib-sqlx-xorm.sh"
version=${SQLX_VERSION:-v1.4.0}
driver=${DRIVER:-rawmysql}
filter=${1:-.}
addr=${MYSQL_TEST_ADDR:-127.0.0.1:3306}
user=${MYSQL_TEST_USER:-root}
pass=${MYSQL_TEST_PASS:-}
dbname=${SQLX_DBNAME:-sqlx_suite}
export GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=${CGO_ENABLED:-0}
[ -z "${RACE:-}" ] || CGO_ENABLED=1 # -race needs cgo
export SQLX_MYSQL_DSN="$user:$pass@tcp($addr)/$dbname?${SQLX_DSN_PARAMS:-parseTime=true}" SQLX_POSTGRES_DSN=skip SQLX_SQLITE_DSN=skip

src=$(upstream_dir "github.com/jmoiron/sqlx@$version")
[ -f "$src/sqlx_test.go" ] || { echo "sqlx.sh: no sqlx_test.go in '$src'" >&2; exit 2; }
scratch_dir sqlxsuite
cp -r "$src/." "$work/"
chmod -R u+w "$work"
create_db "$user:$pass@tcp($addr)/" "$dbname"

if [ "$driver" != mysql ]; then
	# The same tests, with the MySQL handle opened as "rawmysql" and go-sql-driver no longer linked.
	for f in sqlx_test.go sqlx_context_test.go; do
		sed -i -e 's#_ "github.com/go-sql-driver/mysql"#_ "github.com/rawmysql/rawmysql"#' \
			-e 's/Connect("mysql", mydsn)/Connect(mysqlDriverUnderTest, mydsn)/' \
			-e 's/db\.DriverName() == "mysql"/isMySQLDriver(db.DriverName())/g' "$work/$f"
	done
	grep -q 'Connect(mysqlDriverUnderTest, mydsn)' "$work/sqlx_test.go" || { echo "sqlx.sh: Connect rewrite failed" >&2; exit 2; }
	! grep -n 'go-sql-driver\|"mysql"' "$work/sqlx_test.go" "$work/sqlx_context_test.go" ||
		{ echo "sqlx.sh: references to go-sql-driver or \"mysql\" left (above)" >&2; exit 2; }
	cp "$here/sqlx_shim_test.go.in" "$work/rawmysql_shim_test.go"
	(cd "$work" && go mod edit -require github.com/rawmysql/rawmysql@v0.0.0 -replace "github.com/rawmysql/rawmysql=$root" &&
		{ go mod tidy >/dev/null 2>&1 || go mod tidy; })
fi
cp "$here/sqlx_testmain_test.go.in" "$work/rawmysql_testmain_test.go"
(cd "$work" && go test -c ${RACE:+-race} -o "$work/suite.test" .) || { echo "sqlx.sh: the suite does not compile" >&2; exit 2; }
[ "$driver" = mysql ] || require_rawmysql_only "$work/suite.test"

run_tests "$work" "$work/suite.test"
grep -h '^mysql driver under test:' "$work"/run.1.log | head -n 1
if [ "$driver" != mysql ] && ! grep -q '^mysql driver under test: \*rawmysql\.Driver' "$work"/run.1.log; then
	echo "sqlx.sh: the suite did not run on rawmysql" >&2; exit 2
fi
show_failures "$work"
echo "sqlx $version driver=$driver server=$addr: $totals"
[ ${#failed[@]} -eq 0 ] || echo "failed: ${failed[*]}"
