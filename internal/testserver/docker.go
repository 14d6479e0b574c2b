package testserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/ory/dockertest/v3"
	"github.com/ory/dockertest/v3/docker"
)

const (
	dockerPingTimeout  = 3 * time.Second
	dockerReadyTimeout = 3 * time.Minute // first start of a MySQL image initialises its data directory
	dockerExpire       = 30 * 60         // seconds after which the engine removes the container regardless
)

// errNoDocker means no Docker engine answered; Get then skips (or fails in CI).
var errNoDocker = errors.New("no Docker engine answered")

// dockerHandle is a container this package started.
type dockerHandle struct {
	pool *dockertest.Pool
	res  *dockertest.Resource
}

// purge removes the container.
func (d *dockerHandle) purge() error {
	if err := d.pool.Purge(d.res); err != nil {
		return fmt.Errorf("rawmysql: testserver: removing container: %w", err)
	}
	return nil
}

// startDocker runs a container of RAWMYSQL_TEST_IMAGE (default DefaultImage) with an empty root password and a
// database "test", and waits until its published port answers with a MySQL greeting. It returns errNoDocker when
// no engine answers.
func startDocker() (*Server, error) {
	began := time.Now()
	pool, err := dockertest.NewPool("")
	if err != nil {
		return nil, errNoDocker
	}
	ctx, cancel := context.WithTimeout(context.Background(), dockerPingTimeout)
	err = pool.Client.PingWithContext(ctx)
	cancel()
	if err != nil {
		return nil, errNoDocker
	}

	image := os.Getenv(EnvImage)
	if image == "" {
		image = DefaultImage
	}
	repo, tag := splitImage(image)
	res, err := pool.RunWithOptions(&dockertest.RunOptions{
		Repository: repo,
		Tag:        tag,
		Env: []string{
			"MYSQL_ALLOW_EMPTY_PASSWORD=yes", "MYSQL_DATABASE=test",
			"MARIADB_ALLOW_EMPTY_ROOT_PASSWORD=1", "MARIADB_DATABASE=test",
		},
		// Arguments starting with "-" are passed to the server by the official images' entrypoints.
		Cmd: []string{
			"--local-infile=1", "--max-allowed-packet=128M", "--max-connect-errors=1000000000",
			"--character-set-server=utf8mb4",
		},
	}, func(hc *docker.HostConfig) {
		hc.AutoRemove = true
		hc.RestartPolicy = docker.RestartPolicy{Name: "no"}
	})
	if err != nil {
		return nil, fmt.Errorf("rawmysql: testserver: starting container %s: %w", image, err)
	}
	h := &dockerHandle{pool: pool, res: res}
	_ = res.Expire(dockerExpire)

	hostPort := res.GetHostPort("3306/tcp")
	_, port, err := net.SplitHostPort(hostPort)
	if err != nil {
		_ = h.purge()
		return nil, fmt.Errorf("rawmysql: testserver: container %s publishes no port 3306", image)
	}
	addr := net.JoinHostPort(dockerHost(), port)

	deadline := time.Now().Add(dockerReadyTimeout)
	for {
		// The images first run a temporary server without networking, so the first greeting over TCP comes
		// from the final server.
		version, err := probeHandshake("tcp", addr, 2*time.Second)
		if err == nil {
			s := &Server{Addr: addr, User: "root", DBName: "test", Kind: KindDocker, Version: version,
				docker: h, startDur: time.Since(began)}
			register(s)
			return s, nil
		}
		if time.Now().After(deadline) {
			_ = h.purge()
			return nil, fmt.Errorf("rawmysql: testserver: container %s did not answer on %s within %v: %v",
				image, addr, dockerReadyTimeout, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// splitImage splits "repo:tag" (the tag defaults to "latest"; a ':' in a registry host name is not a tag).
func splitImage(image string) (repo, tag string) {
	i := strings.LastIndexByte(image, ':')
	if i < 0 || strings.Contains(image[i:], "/") {
		return image, "latest"
	}
	return image[:i], image[i+1:]
}

// dockerHost is the host where published ports appear: the engine's host for a tcp:// DOCKER_HOST, else the
// loopback address.
func dockerHost() string {
	if u, err := url.Parse(os.Getenv("DOCKER_HOST")); err == nil && u.Scheme == "tcp" && u.Hostname() != "" {
		return u.Hostname()
	}
	return "127.0.0.1"
}
