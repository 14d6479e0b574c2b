package rawmysql

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Target server.
//
// Config.TargetServer (DSN targetServer) chooses which kind of server a connection must reach, as libpq's and
// pgx's target_session_attrs do:
//
//	any            every server (the default)
//	primary        a read-write server: @@read_only off (and @@super_read_only off on MySQL)
//	replica        a read-only server
//	preferReplica  a read-only server if one of the hosts is; else a read-write one
//	preferPrimary  a read-write server if one of the hosts is; else a read-only one
//
// The server's role is read after login in the query the connection already sends at connect (the KILL QUERY
// identity query, or the max_allowed_packet query), so it costs no round trip of its own there; only a
// connection with killQueryOnCancel=false and a fixed maxAllowedPacket sends a query for it. It is read when
// targetServer is not any or the DSN names several hosts. On MariaDB the same query reads the Galera state: a
// node with wsrep_on whose wsrep_ready is not ON or whose wsrep_local_state is not 4 (Synced) — joining,
// donor, desynced — is treated as unreachable (and put in backoff), as is a node that refuses queries with
// error 1047 because it is not in the primary component.
//
// Re-check on reuse: when database/sql takes a pooled connection whose role was read more than
// Config.TargetRecheck ago (DSN targetRecheck, default 5s; 0 checks at every reuse), ResetSession reads the role
// again (one short query) and refuses the connection — database/sql then uses or opens another — when a
// primary-only connection's server became read-only (a demoted primary), a replica-only connection's server
// became writable, or a Galera node is no longer Synced. With targetServer=primary, a write refused because the
// server is read-only (errors 1290, 1792, 1836) also closes the connection, as rejectReadOnly=true does, so the
// pool leaves a demoted primary at the first refused write without waiting for the next re-check.

// Target servers (Config.TargetServer, DSN targetServer).
const (
	TargetAny           = "any"           // any server (the default)
	TargetPrimary       = "primary"       // a read-write server only
	TargetReplica       = "replica"       // a read-only server only
	TargetPreferReplica = "preferReplica" // a read-only server if any host is one, else a read-write one
	TargetPreferPrimary = "preferPrimary" // a read-write server if any host is one, else a read-only one
)

// defaultTargetRecheck is NewConfig's TargetRecheck.
const defaultTargetRecheck = 5 * time.Second

// connRole is what a connection knows about its server's role and its host.
type connRole struct {
	host      *hostState // the host's state in a multi-host Connector (open connections), nil otherwise
	checked   bool       // readOnly was read from the server
	readOnly  bool       // the server was read-only when last checked
	checkedAt time.Time
}

// galeraNotReadyError reports a Galera node that cannot serve: not ready or not Synced.
type galeraNotReadyError struct {
	ready, state string
}

func (e *galeraNotReadyError) Error() string {
	return fmt.Sprintf("rawmysql: Galera node is not ready (wsrep_ready=%s, wsrep_local_state=%s; want ON and 4, Synced)", e.ready, e.state)
}

// errRoleChanged is ResetSession's reason for refusing a connection whose server changed role.
var errRoleChanged = errors.New("rawmysql: the server's role changed since connect (targetServer re-check)")

// checksRole reports whether connections of cfg read their server's role at connect.
func (cfg *Config) checksRole() bool {
	return (cfg.TargetServer != "" && cfg.TargetServer != TargetAny) || len(cfg.Addrs) > 1
}

// roleColumns returns the columns that read the server's role (read-only state and, on MariaDB, the Galera
// state), or nil when the connection does not check it.
func (c *conn) roleColumns() []string {
	if !c.cfg.checksRole() {
		return nil
	}
	if c.pc.Handshake().IsMariaDB() {
		// Through information_schema so that a server built without wsrep answers NULL instead of an error.
		return []string{
			"@@read_only",
			"(SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_VARIABLES WHERE VARIABLE_NAME = 'WSREP_ON')",
			"(SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'WSREP_READY')",
			"(SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'WSREP_LOCAL_STATE')",
		}
	}
	return []string{"@@read_only", "@@super_read_only"}
}

// setRole records the role read by roleColumns; a Galera node that is not ready is an error.
func (c *conn) setRole(vals []string) error {
	if len(vals) < 2 {
		return fmt.Errorf("rawmysql: reading the server's role: got %d values", len(vals))
	}
	ro := isOn(vals[0])
	if c.pc.Handshake().IsMariaDB() {
		if len(vals) == 4 && isOn(vals[1]) && (!isOn(vals[2]) || vals[3] != "4") {
			return &galeraNotReadyError{ready: vals[2], state: vals[3]}
		}
	} else {
		ro = ro || isOn(vals[1])
	}
	c.role.checked, c.role.readOnly, c.role.checkedAt = true, ro, time.Now()
	return nil
}

// isOn reads a boolean server variable: 1/ON (and MariaDB 11's read_only values other than OFF) are on.
func isOn(v string) bool {
	switch strings.ToUpper(strings.TrimSpace(v)) {
	case "", "0", "OFF", "NULL":
		return false
	}
	return true
}

// Results of targetFits.
const (
	fitNo       = iota // the connection does not serve the target
	fitYes             // it does
	fitFallback        // prefer*: the other kind, used when no host has the preferred one
)

// targetFits tells whether a server that is (or not) read-only serves target.
func targetFits(target string, readOnly bool) int {
	switch target {
	case TargetPrimary:
		if readOnly {
			return fitNo
		}
	case TargetReplica:
		if !readOnly {
			return fitNo
		}
	case TargetPreferPrimary:
		if readOnly {
			return fitFallback
		}
	case TargetPreferReplica:
		if !readOnly {
			return fitFallback
		}
	}
	return fitYes
}

// roleMismatch is the failure of a host whose role is not the target's.
func roleMismatch(target string, readOnly bool) error {
	if readOnly {
		return fmt.Errorf("rawmysql: server is read-only (targetServer=%s)", target)
	}
	return fmt.Errorf("rawmysql: server is read-write (targetServer=%s)", target)
}

// recheckRole runs from ResetSession: it reads the role again when the last check is older than TargetRecheck
// and refuses (driver.ErrBadConn, after closing it) a connection whose server no longer serves the target.
func (c *conn) recheckRole(ctx context.Context) error {
	if !c.role.checked || time.Since(c.role.checkedAt) < c.cfg.TargetRecheck {
		return nil
	}
	cols := c.roleColumns()
	if cols == nil {
		return nil
	}
	vals, err := c.queryRow(ctx, "SELECT "+strings.Join(cols, ", "))
	if err == nil {
		err = c.setRole(vals)
	}
	if err == nil && targetFits(c.cfg.TargetServer, c.role.readOnly) == fitNo {
		err = roleMismatch(c.cfg.TargetServer, c.role.readOnly)
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c.discard()
		if c.cfg.Logger != nil {
			c.cfg.Logger.Warn("rawmysql: pooled connection refused by the targetServer re-check", "addr", c.cfg.Addr, "err", err)
		}
		return mapErr(&retryable{fmt.Errorf("%w: %w", errRoleChanged, err)})
	}
	return nil
}

// checkSingleTarget refuses a connection of a one-host Connector whose server is not of the target's kind
// (prefer* accept either).
func (c *conn) checkSingleTarget() error {
	if !c.role.checked || targetFits(c.cfg.TargetServer, c.role.readOnly) != fitNo {
		return nil
	}
	msg := strings.TrimPrefix(roleMismatch(c.cfg.TargetServer, c.role.readOnly).Error(), "rawmysql: ")
	return fmt.Errorf("rawmysql: %s: %s", c.cfg.Addr, msg)
}
