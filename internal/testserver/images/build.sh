#!/usr/bin/env bash
# Builds the Docker image rawmysql-test/NAME:latest for rawmysql's server matrix, once per machine:
#
#   internal/testserver/images/build.sh NAME      NAME: mysql-9.7 | mariadb-11.8 | mariadb-10.11 | mariadb-10.5
#
# 1. When the root filesystem /var/cache/rawmysql/rootfs/NAME is missing (or incomplete), debootstrap builds it
#    (minbase + the server package) from the Debian mirror named in /etc/apt/sources.list.d/debian.sources. A
#    debootstrap already running into that directory is waited for, never started twice.
# 2. When the image is missing, the root filesystem plus entrypoint.sh is imported with `docker import`, started
#    once to initialise the data directory, and committed as rawmysql-test/NAME:latest (so containers start in
#    seconds). An existing image is reused: delete it (docker rmi) to rebuild; delete the rootfs directory to
#    re-download.
#
# Needs root. Installs debootstrap and docker.io with apt-get when they are missing and starts dockerd when no
# engine answers (as on a fresh CI machine). Concurrent builds of one NAME are serialised with flock.
# Environment: RAWMYSQL_IMAGE_CACHE (default /var/cache/rawmysql), RAWMYSQL_DEBIAN_MIRROR (overrides the mirror).
set -euo pipefail

name=${1:-}
case "$name" in
mysql-9.7) suite=sid pkg=mysql-server ;;
mariadb-11.8) suite=trixie pkg=mariadb-server ;;
mariadb-10.11) suite=bookworm pkg=mariadb-server ;;
mariadb-10.5) suite=bullseye pkg=mariadb-server ;;
*)
	echo "usage: $0 mysql-9.7|mariadb-11.8|mariadb-10.11|mariadb-10.5" >&2
	exit 2
	;;
esac

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${RAWMYSQL_IMAGE_CACHE:-/var/cache/rawmysql}
rootfs=$cache/rootfs/$name
image=rawmysql-test/$name:latest
log() { echo "rawmysql images: $*" >&2; }

if [ "$(id -u)" != 0 ]; then
	if docker image inspect "$image" >/dev/null 2>&1; then
		exit 0 # (a rebuild for a changed entrypoint.sh needs root)
	fi
	log "building $image needs root (debootstrap, docker import); run: sudo $0 $name"
	exit 1
fi

apt_install() {
	log "installing $*"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2 || true
	apt-get install -y -qq "$@" >&2
}

# Tools and a running Docker engine.
command -v docker >/dev/null 2>&1 || apt_install docker.io
if ! docker info >/dev/null 2>&1; then
	dockerd_bin=$(command -v dockerd || echo /usr/sbin/dockerd)
	[ -x "$dockerd_bin" ] || apt_install docker.io
	log "no Docker engine answers: starting dockerd (log in $cache/dockerd.log)"
	mkdir -p "$cache"
	nohup "$dockerd_bin" >"$cache/dockerd.log" 2>&1 </dev/null &
	for _ in $(seq 1 120); do
		docker info >/dev/null 2>&1 && break
		sleep 0.5
	done
	docker info >/dev/null 2>&1 || { log "dockerd did not come up:"; tail -n 20 "$cache/dockerd.log" >&2; exit 1; }
fi

mkdir -p "$cache/rootfs"
exec 9>"$cache/$name.lock"
flock 9

# The image records the entry point it was built with; a changed entrypoint.sh rebuilds it (from the cached
# root filesystem).
want=$(sha256sum "$here/entrypoint.sh" | cut -c1-16)
have=$(docker image inspect -f '{{index .Config.Labels "rawmysql.entrypoint"}}' "$image" 2>/dev/null || true)
if [ "$have" = "$want" ]; then
	log "$image is cached"
	exit 0
elif [ -n "$have" ]; then
	log "$image was built with another entrypoint.sh: rebuilding"
fi
began=$(date +%s)

mirror=${RAWMYSQL_DEBIAN_MIRROR:-}
if [ -z "$mirror" ] && [ -f /etc/apt/sources.list.d/debian.sources ]; then
	mirror=$(awk '/^URIs:/ && $2 ~ /\/debian\/?$/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
fi
mirror=${mirror:-http://deb.debian.org/debian}

# The server binary is the last thing debootstrap installs, and debootstrap removes its work directory
# ($rootfs/debootstrap) only on success.
complete() {
	[ ! -d "$rootfs/debootstrap" ] && { [ -x "$rootfs/usr/sbin/mysqld" ] || [ -x "$rootfs/usr/sbin/mariadbd" ]; }
}
running() { pgrep -f "debootstrap .*$rootfs( |\$)" >/dev/null 2>&1; }

if running; then
	log "waiting for the debootstrap already running into $rootfs"
	while running; do sleep 5; done
fi
if ! complete; then
	command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap
	rm -rf "$rootfs"
	log "debootstrap --variant=minbase --include=$pkg $suite $rootfs $mirror"
	if ! debootstrap --variant=minbase --include="$pkg" "$suite" "$rootfs" "$mirror" >"$cache/ds-$name.log" 2>&1; then
		if [ "$suite" = bullseye ] && [ -z "${RAWMYSQL_DEBIAN_MIRROR:-}" ]; then
			# Debian 11 leaves the main mirror for archive.debian.org after its LTS ends.
			log "debootstrap from $mirror failed; trying http://archive.debian.org/debian"
			rm -rf "$rootfs"
			debootstrap --variant=minbase --include="$pkg" "$suite" "$rootfs" http://archive.debian.org/debian \
				>"$cache/ds-$name.log" 2>&1 || true
		fi
	fi
	if ! complete; then
		log "debootstrap of $name failed; last lines of $cache/ds-$name.log:"
		tail -n 20 "$cache/ds-$name.log" >&2
		exit 1
	fi
	log "root filesystem ready after $(($(date +%s) - began))s"
fi

install -m 0755 "$here/entrypoint.sh" "$rootfs/usr/local/bin/rawmysql-entrypoint"
stage=rawmysql-test/$name:stage
log "docker import $rootfs as $stage"
tar -C "$rootfs" --exclude='./proc/*' --exclude='./sys/*' --exclude='./dev/*' --exclude='./var/cache/apt/archives/*.deb' -c . |
	docker import -c 'CMD ["/usr/local/bin/rawmysql-entrypoint"]' -c 'EXPOSE 3306' \
		-c "LABEL rawmysql.entrypoint=$want" - "$stage" >/dev/null

# Initialise the data directory once, into the image.
ctr=rawmysql-build-$name-$$
trap 'docker rm -f "$ctr" >/dev/null 2>&1 || true' EXIT
docker run --name "$ctr" "$stage" /usr/local/bin/rawmysql-entrypoint init >&2
previous=$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)
docker commit -c 'CMD ["/usr/local/bin/rawmysql-entrypoint"]' -c 'EXPOSE 3306' "$ctr" "$image" >/dev/null
docker rm -f "$ctr" >/dev/null
docker rmi "$stage" >/dev/null
if [ -n "$previous" ]; then
	docker rmi "$previous" >/dev/null 2>&1 || true # the image this one replaces (kept while containers use it)
fi
log "built $image in $(($(date +%s) - began))s"
