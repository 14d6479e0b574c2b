#!/usr/bin/env bash
# Runs go-sql-driver/mysql v1.10.1's own driver_test.go against rawmysql (or, with DRIVER=mysql, against
# go-sql-driver itself as the reference), one process per test, and prints PASS/FAIL/SKIP per test and a total.
# Not part of CI. go-sql-driver's code is fetched at run time into a temporary directory and never committed.
#
#   compat/gosqldriver/run.sh [go test -run regexp]
#
# Environment (read by go-sql-driver's test file): MYSQL_TEST_ADDR (default 127.0.0.1:3306), MYSQL_TEST_USER
# (root), MYSQL_TEST_PASS (empty), MYSQL_TEST_DBNAME (rawmysql_gsd; created when missing), MYSQL_TEST_CONCURRENT.
# DRIVER=rawmysql (default) or mysql. KEEP=1 keeps the scratch directory. TEST_TIMEOUT per test (default 180s).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
version=v1.10.1
driver=${DRIVER:-rawmysql}
filter=${1:-.}

export MYSQL_TEST_ADDR=${MYSQL_TEST_ADDR:-127.0.0.1:3306}
export MYSQL_TEST_USER=${MYSQL_TEST_USER:-root}
export MYSQL_TEST_PASS=${MYSQL_TEST_PASS:-}
export MYSQL_TEST_DBNAME=${MYSQL_TEST_DBNAME:-rawmysql_gsd}
export GOWORK=off GOFLAGS=-mod=mod

src=$(cd "$root" && go mod download -json "github.com/go-sql-driver/mysql@$version" |
	sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -f "$src/driver_test.go" ] || { echo "run.sh: no driver_test.go in '$src'" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/gsdsuite.XXXXXX")
if [ -z "${KEEP:-}" ]; then trap 'rm -rf "$work"' EXIT; else echo "scratch: $work"; fi

if [ "$driver" = mysql ]; then
	# Reference: go-sql-driver's own package with only its driver_test.go.
	cp -r "$src/." "$work/"
	chmod -R u+w "$work"
	find "$work" -name '*_test.go' ! -name driver_test.go -delete
	sed -i 's/sql\.Open("mysql", /sql.Open(driverNameTest, /' "$work/driver_test.go"
else
	cp "$src/driver_test.go" "$work/driver_test.go"
	chmod u+w "$work/driver_test.go"
	cp "$here/shim_test.go.in" "$work/shim_test.go"
	# TestColumnsReusesSlice builds go-sql-driver's private row and field structs: it tests that package's
	# internals, not a driver, so it is left out (TestPing, which asserts its private *mysqlConn, stays and fails).
	perl -0pi -e 's/\nfunc TestColumnsReusesSlice\(.*?\n}\n//s' "$work/driver_test.go"
	echo "EXCLUDED TestColumnsReusesSlice (builds go-sql-driver's private structs)"
	# TestQueryMultipleResults reads the per-statement affected rows from go-sql-driver's private conn fields
	# (c.result.affectedRows); rawmysql reports the same values on the rows its driver.Queryer returns
	# (rows.(Result).AllRowsAffected()), so the test reads them there.
	perl -0pi -e 's/(func TestQueryMultipleResults\(.*?\n}\n)/ my $f = $1; $f =~ s{\n\t+c := conn\.\(\*mysqlConn\)\n}{\n}; $f =~ s{_, err := qr\.Query\(}{qrows, err := qr.Query(}; $f =~ s{c\.result\.affectedRows}{qrows.(Result).AllRowsAffected()}; $f /se' "$work/driver_test.go"
	grep -q 'qrows.(Result).AllRowsAffected()' "$work/driver_test.go" || { echo "run.sh: TestQueryMultipleResults rewrite failed" >&2; exit 2; }
	echo "REWRITTEN TestQueryMultipleResults (reads affected rows from the returned rows, not go-sql-driver's private conn)"
	# runTestsParallel opens the literal driver name "mysql": use the name under test instead.
	sed -i 's/sql\.Open("mysql", /sql.Open(driverNameTest, /' "$work/driver_test.go"
	cat >"$work/go.mod" <<MOD
module gsdsuite

go 1.24

require github.com/rawmysql/rawmysql v0.0.0

replace github.com/rawmysql/rawmysql => $root
MOD
	(cd "$work" && go mod tidy >/dev/null 2>&1 || go mod tidy)
fi

cp "$here/testmain_test.go.in" "$work/testmain_test.go"
(cd "$work" && go test -c -o "$work/suite.test" .) || { echo "run.sh: the suite does not compile" >&2; exit 2; }

tests=$(sed -n 's/^func \(Test[A-Za-z0-9_]*\)(t \*testing\.T).*/\1/p' "$work/driver_test.go" | grep -E -- "$filter" || true)
pass=0 fail=0 skip=0 failed=()
for t in $tests; do
	log="$work/$t.log"
	if (cd "$work" && timeout "${TEST_TIMEOUT:-180s}" ./suite.test -test.run "^$t\$" -test.v -test.count=1 >"$log" 2>&1); then
		if grep -q -- "^--- SKIP: $t " "$log"; then
			echo "SKIP $t"; skip=$((skip + 1))
		else
			echo "PASS $t"; pass=$((pass + 1))
		fi
	else
		echo "FAIL $t"; fail=$((fail + 1)); failed+=("$t")
		[ -n "${VERBOSE:-}" ] && sed 's/^/    /' "$log" | tail -n 30
	fi
done
echo "driver=$driver server=$MYSQL_TEST_ADDR: $pass passed, $fail failed, $skip skipped (of $((pass + fail + skip)))"
[ ${#failed[@]} -eq 0 ] || echo "failed: ${failed[*]}"
