#!/usr/bin/env bash
# Runs GORM v1.31.2's own integration suite (the tests/ directory of gorm.io/gorm, module gorm.io/gorm/tests)
# with GORM_DIALECT=mysql against rawmysql (or, with DRIVER=mysql, against go-sql-driver/mysql as the reference)
# and prints PASS/FAIL/SKIP per top-level test and the totals. Not part of CI. GORM's code is copied at run time
# into a temporary directory and never committed.
#
#   GORM_SRC=<gorm git dir or checkout> compat/upstream/gorm.sh [go test -run regexp]
#
# Where the suite comes from: the Go module proxy does not serve gorm.io/gorm/tests (no tag of its own; the
# pseudo-version of the release commit is refused with 403), so the suite is taken from a copy of GORM's
# repository, named by GORM_SRC (or the first argument if it is a directory): a bare git directory or a work tree
# holding the release commit (the script reads tests/ at commit $commit with git archive), or a plain directory
# that has a tests/ subdirectory taken from that commit (copied as is). Only when GORM_SRC is empty does the
# script try the proxy. gorm.io/gorm itself, gorm.io/driver/mysql and the other modules come from the proxy.
#
# The switch to rawmysql: every mysql.Open(dsn) of the suite becomes
# mysql.New(mysql.Config{DriverName: "rawmysql", DSN: dsn}), its one sql.Open("mysql", dsn) opens "rawmysql",
# and a file added next to the suite imports rawmysql (replaced to this repository). With DRIVER=mysql the same
# rewrite names "mysql", so both runs compile the same suite.
#
# Environment: GORM_DSN (default root@tcp(127.0.0.1:3306)/gorm_suite?charset=utf8&parseTime=True, the shape of
# GORM's CI DSN); the database it names is dropped and created before the run (a name without "suite" or
# "test" other than gorm only with GORM_DROP_DB=1). DRIVER=rawmysql (default) or mysql.
# SERVER_ERROR_TYPE=mysql makes rawmysql return go-sql-driver's *mysql.MySQLError (the README's one line for
# GORM's TranslateError). KEEP=1 keeps the scratch directory (and the suite's log). SUITE_TIMEOUT (default 30m).
# GO_TEST_FLAGS adds go test flags (-race, as GORM's tests_all.sh runs). DEBUG=true makes GORM log every statement.
# UPGRADE=1 first takes the newest gorm.io/driver/mysql and go-sql-driver/mysql (GORM's tests_all.sh runs
# go get -u -t ./..., which the proxy here refuses for gorm.io/driver/gaussdb; default: the suite's go.mod pins).
# VERBOSE=1 prints the tail of each failed test's output.
#
# On MariaDB 10.11 both drivers fail TestTableType and TestRow: they name the database "gorm" (the one of GORM's
# CI) literally; with a DSN naming database gorm they pass. rawmysql alone fails the two
# TestSupportedDialectorWithErr* tests unless SERVER_ERROR_TYPE=mysql: gorm.io/driver/mysql's Translate
# type-asserts err.(*mysql.MySQLError).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
version=v1.31.2
commit=1d6ce99528060be18a42be09aca8d39efcb47f28
driver=${DRIVER:-rawmysql}
src=${GORM_SRC:-}
if [ $# -gt 0 ] && [ -d "$1" ]; then src=$1; shift; fi
filter=${1:-.}
case "$driver" in rawmysql | mysql) ;; *) echo "gorm.sh: DRIVER must be rawmysql or mysql" >&2; exit 2 ;; esac

export GORM_DIALECT=mysql
export GORM_DSN=${GORM_DSN:-root@tcp(127.0.0.1:3306)/gorm_suite?charset=utf8&parseTime=True}
export GOWORK=off GOFLAGS=-mod=mod

work=$(mktemp -d "${TMPDIR:-/tmp}/gormsuite.XXXXXX")
if [ -z "${KEEP:-}" ]; then trap 'rm -rf "$work"' EXIT; else echo "scratch: $work"; fi
suite=$work/tests

# 1. The suite's source.
if [ -z "$src" ]; then
	dir=$(cd "$root" && go mod download -json "gorm.io/gorm/tests@$commit" 2>/dev/null |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') || true
	[ -n "$dir" ] && [ -f "$dir/tests_test.go" ] || {
		echo "gorm.sh: the proxy does not serve gorm.io/gorm/tests@$commit; set GORM_SRC to a copy of GORM's repository" >&2
		exit 2
	}
	cp -r "$dir" "$suite"
elif git --git-dir="$src" rev-parse -q --verify "$commit^{commit}" >/dev/null 2>&1 ||
	git -C "$src" rev-parse -q --verify "$commit^{commit}" >/dev/null 2>&1; then
	gitdir=$src
	git --git-dir="$src" rev-parse -q --verify HEAD >/dev/null 2>&1 || gitdir=$(git -C "$src" rev-parse --absolute-git-dir)
	tag=$(git --git-dir="$gitdir" rev-parse -q --verify "$version^{commit}" 2>/dev/null || true)
	[ -z "$tag" ] || [ "$tag" = "$commit" ] || { echo "gorm.sh: $version is $tag in '$src', expected $commit" >&2; exit 2; }
	mkdir -p "$work/arch"
	git --git-dir="$gitdir" archive "$commit" tests | tar -x -C "$work/arch"
	mv "$work/arch/tests" "$suite"
elif [ -f "$src/tests/tests_test.go" ]; then
	cp -r "$src/tests" "$suite"
else
	echo "gorm.sh: '$src' is neither a git repository holding $commit nor a directory with tests/" >&2
	exit 2
fi
chmod -R u+w "$suite"
echo "suite: gorm.io/gorm/tests at $version ($commit)"

# 2. Switch the dialector to the driver under test.
grep -q 'mysql\.Open(dbDSN)' "$suite/tests_test.go" || { echo "gorm.sh: tests_test.go has no mysql.Open(dbDSN)" >&2; exit 2; }
perl -pi -e 's/\bmysql\.Open\(([A-Za-z_]+)\)/mysql.New(mysql.Config{DriverName: suiteDriverName, DSN: $1})/g; s/\bsql\.Open\("mysql", /sql.Open(suiteDriverName, /g' "$suite"/*_test.go
if [ "$driver" = rawmysql ]; then
	errtype=
	[ "${SERVER_ERROR_TYPE:-}" = mysql ] && errtype='func init() { rawmysql.SetServerErrorType(&gsd.MySQLError{}) }'
	cat >"$suite/zz_rawmysql_driver_test.go" <<GO
// Added by rawmysql's compat/upstream/gorm.sh: the suite opens MySQL through rawmysql.
package tests_test

import (
	gsd "github.com/go-sql-driver/mysql"
	"github.com/rawmysql/rawmysql"
)

const suiteDriverName = rawmysql.DriverName

var _ = gsd.MySQLError{}

$errtype
GO
	(cd "$suite" && go mod edit -require=github.com/rawmysql/rawmysql@v0.0.0 -replace=github.com/rawmysql/rawmysql="$root")
else
	cat >"$suite/zz_rawmysql_driver_test.go" <<GO
// Added by rawmysql's compat/upstream/gorm.sh: the reference run keeps go-sql-driver/mysql.
package tests_test

const suiteDriverName = "mysql"
GO
fi
# gorm.io/gorm from the proxy at the same release instead of the checkout's parent directory.
(cd "$suite" && go mod edit -dropreplace=gorm.io/gorm -require=gorm.io/gorm@$version)
[ -z "${UPGRADE:-}" ] || (cd "$suite" && go get gorm.io/driver/mysql@latest github.com/go-sql-driver/mysql@latest)
(cd "$suite" && go mod tidy >/dev/null 2>&1 || go mod tidy)
echo "modules: $(cd "$suite" && go list -m gorm.io/gorm gorm.io/driver/mysql github.com/go-sql-driver/mysql | tr '\n' ' ')"

# 3. A fresh database (GORM's init() migrates before any TestMain could create it). It is dropped first: only
# a name that says it is a test database (gorm, or one containing "suite" or "test") unless GORM_DROP_DB=1.
dbname=${GORM_DSN%%\?*}; dbname=${dbname##*/}
case "$dbname" in
gorm | *suite* | *test*) ;;
*) [ "${GORM_DROP_DB:-}" = 1 ] || { echo "gorm.sh: refusing to drop database '$dbname' (GORM_DROP_DB=1 to allow)" >&2; exit 2; } ;;
esac
mkdir -p "$suite/internal/mkdb"
cat >"$suite/internal/mkdb/main.go" <<'GO'
// Added by rawmysql's compat/upstream/gorm.sh: drops and creates the database GORM_DSN names.
package main

import (
	"database/sql"
	"fmt"
	"os"
	"strings"

	_ "github.com/go-sql-driver/mysql"
)

func main() {
	dsn := os.Getenv("GORM_DSN")
	i := strings.LastIndex(dsn, "/")
	name, params, _ := strings.Cut(dsn[i+1:], "?")
	db, err := sql.Open("mysql", dsn[:i+1]+"?"+params)
	if err == nil {
		if _, err = db.Exec("DROP DATABASE IF EXISTS `" + name + "`"); err == nil {
			_, err = db.Exec("CREATE DATABASE `" + name + "`")
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gorm.sh: creating the database:", err)
		os.Exit(2)
	}
}
GO
(cd "$suite" && go run ./internal/mkdb)

# 4. The run, as GORM's CI runs it (tests_all.sh: go test -count=1 in tests/), one process for the whole suite.
(cd "$suite" && go test ${GO_TEST_FLAGS:-} -c -o "$work/suite.test" .) || { echo "gorm.sh: the suite does not compile" >&2; exit 2; }
log=$work/suite.log
set +e
(cd "$suite" && go test ${GO_TEST_FLAGS:-} -p 1 -timeout "${SUITE_TIMEOUT:-30m}" -count=1 -v -run "$filter" . >"$log" 2>&1)
rc=$?
set -e
[ -z "${KEEP:-}" ] || echo "log: $log"

pass=0 fail=0 skip=0 failed=()
while read -r status name; do
	case "$status" in
	PASS) pass=$((pass + 1)) ;;
	SKIP) skip=$((skip + 1)) ;;
	FAIL) fail=$((fail + 1)); failed+=("$name") ;;
	esac
	echo "$status $name"
	if [ "$status" = FAIL ] && [ -n "${VERBOSE:-}" ]; then
		awk -v t="$name" '$0 ~ "^=== (RUN|CONT|PAUSE)   "t"($|/)" {on=1} /^=== (RUN|CONT)/ && $0 !~ "   "t"($|/)" {on=0} on' "$log" | tail -n 30 | sed 's/^/    /'
	fi
done < <(sed -n 's/^--- \(PASS\|FAIL\|SKIP\): \([A-Za-z0-9_]*\) (.*/\1 \2/p' "$log")
echo "driver=$driver dsn=$GORM_DSN: $pass passed, $fail failed, $skip skipped (of $((pass + fail + skip))); go test exit $rc"
[ ${#failed[@]} -eq 0 ] || echo "failed: ${failed[*]}"
if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
	echo "gorm.sh: go test failed without a failed test (panic, timeout or init failure); the log's tail:" >&2
	tail -n 40 "$log" >&2
	exit 1
fi
