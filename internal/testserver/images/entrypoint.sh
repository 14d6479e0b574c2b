#!/bin/sh
# Entry point of the rawmysql-test/* images built by build.sh (copied to /usr/local/bin/rawmysql-entrypoint).
#
#   rawmysql-entrypoint init    create the data directory (build.sh runs this once and commits the result)
#   rawmysql-entrypoint [serve] initialise if needed, then run the server in the foreground on 0.0.0.0:3306
#
# The server runs as root with an empty root password for 'root'@'%' and 'root'@'localhost', a database
# `test`, local_infile on and utf8mb4. When the host mounts a directory at /rawmysql (internal/testenv does), the
# server reads its TLS files from there (ca.pem, server-cert.pem, server-key.pem, written by the host with
# internal/testserver's certificate generator) and puts its unix socket there (mysqld.sock), so tests on the
# host can use both.
set -eu

DATADIR=/var/lib/rawmysql
SHARED=/rawmysql

if [ -x /usr/sbin/mariadbd ]; then
	FLAVOR=mariadb
	SERVER=/usr/sbin/mariadbd
else
	FLAVOR=mysql
	SERVER=/usr/sbin/mysqld
fi

initialise() {
	if [ -d "$DATADIR/mysql" ]; then
		return 0
	fi
	mkdir -p "$DATADIR"
	echo "rawmysql-entrypoint: initialising $DATADIR ($FLAVOR)"
	if [ "$FLAVOR" = mariadb ]; then
		installer=/usr/bin/mariadb-install-db
		[ -x "$installer" ] || installer=/usr/bin/mysql_install_db
		set -- --no-defaults --datadir="$DATADIR" --user=root --auth-root-authentication-method=normal \
			--skip-name-resolve
		if "$installer" --help 2>/dev/null | grep -q -- --skip-test-db; then
			set -- "$@" --skip-test-db
		fi
		"$installer" "$@" >/tmp/install.log 2>&1 || { cat /tmp/install.log; exit 1; }
	else
		"$SERVER" --no-defaults --user=root --initialize-insecure --datadir="$DATADIR" \
			--log-error=/tmp/install.log || { cat /tmp/install.log; exit 1; }
	fi
}

serve() {
	initialise
	cat >/etc/rawmysql-init.sql <<'SQL'
CREATE DATABASE IF NOT EXISTS test;
CREATE USER IF NOT EXISTS 'root'@'%';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;
SQL
	sock=/tmp/mysqld.sock
	if [ -d "$SHARED" ] && [ -w "$SHARED" ]; then
		sock="$SHARED/mysqld.sock"
		rm -f "$sock" "$sock.lock"
	fi
	set -- --no-defaults --user=root --datadir="$DATADIR" --port=3306 --bind-address=0.0.0.0 \
		--socket="$sock" --pid-file=/tmp/mysqld.pid --init-file=/etc/rawmysql-init.sql \
		--local-infile=1 --max-allowed-packet=128M --skip-name-resolve --max-connect-errors=1000000000 --max-connections=1000 \
		--character-set-server=utf8mb4 --innodb-buffer-pool-size=64M \
		--innodb-flush-log-at-trx-commit=2 --loose-innodb-doublewrite=OFF --skip-log-bin \
		--loose-secure-file-priv=
	if [ -f "$SHARED/server-cert.pem" ]; then
		set -- "$@" --ssl-ca="$SHARED/ca.pem" --ssl-cert="$SHARED/server-cert.pem" --ssl-key="$SHARED/server-key.pem"
	fi
	if [ "$FLAVOR" = mariadb ]; then
		set -- "$@" --collation-server=utf8mb4_general_ci --performance-schema=OFF
		for dir in /usr/lib/mysql/plugin /usr/lib/*/mariadb*/plugin; do
			if [ -f "$dir/auth_ed25519.so" ]; then
				set -- "$@" --plugin-load-add=auth_ed25519
				break
			fi
		done
	else
		# MySQL's defaults otherwise (performance_schema on, utf8mb4_0900_ai_ci): tests see a stock server.
		set -- "$@" --mysqlx=OFF
	fi
	echo "rawmysql-entrypoint: exec $SERVER $*"
	exec "$SERVER" "$@"
}

case "${1:-serve}" in
init) initialise ;;
serve) serve ;;
*)
	echo "usage: rawmysql-entrypoint [init|serve]" >&2
	exit 2
	;;
esac
