package rawmysql

import (
	"cmp"
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rawmysql/rawmysql/protocol"
)

// Read-your-writes across replicas.
//
// With trackGTID=true (Config.TrackGTID) a connection asks the server to report, in the OK packet of every
// statement that commits a transaction, the GTID that transaction got: MySQL through session_track_gtids =
// OWN_GTID (the server needs gtid_mode=ON), MariaDB through session_track_system_variables naming last_gtid.
// The setting joins the session setup's SET (no extra round trip when the DSN already sets variables). The GTID
// is then available
//
//   - per statement: the driver.Result of rawmysql implements GTIDResult (LastGTID), reached through
//     sql.Conn.Raw like Result.AllRowsAffected;
//   - per connection: the driver connection implements GTIDConn (LastGTID), through sql.Conn.Raw;
//   - per pool: Connector.GTIDWatermark (or Config.GTIDWatermark) holds the highest position written by every
//     connection of the Connector.
//
// With causalReads=true (Config.CausalReads), typically on the DSN of a replica pool that shares the
// primary pool's GTIDWatermark, a connection waits before a read until the server it is connected to has
// applied everything in the watermark: MariaDB's MASTER_GTID_WAIT(position, timeout) (skipped when the
// server's @@gtid_current_pos already holds the position, as on the primary that wrote it), MySQL's
// WAIT_FOR_EXECUTED_GTID_SET(set, timeout). The statements that wait are exactly:
//
//   - QueryContext of the connection (DB.Query, DB.QueryRow, Conn.Query..., and Tx.Query only through
//     BeginTx below), and of a prepared statement (Stmt.Query, Stmt.QueryRow);
//   - BeginTx (DB.Begin, DB.BeginTx): the wait runs before START TRANSACTION, so every statement of the
//     transaction sees the writes; statements inside a transaction do not wait again.
//
// Exec, Ping and Prepare never wait. A connection waits only when the watermark advanced since it last waited
// (a connection that already waited for the current position sends nothing more). The wait is bounded by the
// context's deadline and by causalWaitTimeout (default 10 s): when the server has not applied the position in
// time the read fails with an error wrapping ErrCausalTimeout, without running the statement.
//
// The watermark is shared between pools by giving both Configs the same *GTIDWatermark, or in DSNs by the
// same gtidWatermark=name (a process-wide watermark of that name, see NamedGTIDWatermark):
//
//	primary: app:pw@tcp(db-primary:3306)/shop?trackGTID=true&gtidWatermark=shop
//	replica: app:pw@tcp(db-replica:3306)/shop?causalReads=true&gtidWatermark=shop

// GTIDResult is implemented by the driver.Result of rawmysql's connections (reached through sql.Conn.Raw).
type GTIDResult interface {
	driver.Result
	// LastGTID returns the GTID of the transaction the statement committed, as the server reported it
	// (MariaDB "domain-server-sequence", MySQL "uuid:number"); "" when it committed none (inside a
	// transaction, a statement that changed nothing) or without trackGTID.
	LastGTID() string
}

// GTIDConn is implemented by rawmysql's driver connections (reached through sql.Conn.Raw).
type GTIDConn interface {
	// LastGTID returns the GTID of the last transaction the connection committed, "" when none was reported
	// (trackGTID off, or nothing written yet).
	LastGTID() string
}

var (
	_ GTIDResult = result{}
	_ GTIDConn   = (*conn)(nil)
)

// ErrCausalTimeout is wrapped by the error of a causal read whose server did not apply the watermark's
// position in time (errors.Is(err, rawmysql.ErrCausalTimeout)).
var ErrCausalTimeout = errors.New("rawmysql: causal read: the server did not apply the written GTIDs in time")

// defaultCausalWaitTimeout bounds a causal wait when Config.CausalWaitTimeout is 0.
const defaultCausalWaitTimeout = 10 * time.Second

// GTIDWatermark is the highest GTID position written through the connections that share it: per MariaDB
// replication domain the highest sequence number (with its server id), per MySQL source UUID (and tag) the
// highest transaction number. It is safe for concurrent use. The zero value is ready to use.
type GTIDWatermark struct {
	name string

	mu      sync.Mutex
	gen     uint64                // incremented by each Advance that moved the position
	mariadb map[uint32]mariaGTID  // domain id → highest GTID
	mysql   map[string]uint64     // "uuid" or "uuid:tag" → highest transaction number
	pos     string                // the formatted position at gen (built lazily)
	posGen  uint64                // gen of pos
	kinds   map[gtidKind]struct{} // the flavors seen
}

type mariaGTID struct {
	server uint32
	seq    uint64
}

type gtidKind uint8

const (
	gtidMariaDB gtidKind = iota + 1
	gtidMySQL
)

// NewGTIDWatermark returns an empty watermark.
func NewGTIDWatermark() *GTIDWatermark { return &GTIDWatermark{} }

var namedWatermarks = struct {
	sync.Mutex
	m map[string]*GTIDWatermark
}{m: map[string]*GTIDWatermark{}}

// NamedGTIDWatermark returns the process-wide watermark called name, created on first use: the one DSN
// parameter gtidWatermark=name selects, so that pools opened from DSNs (sql.Open) share it.
func NamedGTIDWatermark(name string) *GTIDWatermark {
	namedWatermarks.Lock()
	defer namedWatermarks.Unlock()
	w := namedWatermarks.m[name]
	if w == nil {
		w = &GTIDWatermark{name: name}
		namedWatermarks.m[name] = w
	}
	return w
}

// Name returns the name given to NamedGTIDWatermark, "" for a watermark made otherwise.
func (w *GTIDWatermark) Name() string { return w.name }

// Advance merges a GTID or GTID set reported by a server into the watermark: MariaDB GTIDs
// "domain-server-sequence" (comma-separated lists too), MySQL GTID sets "uuid:1-5:7,uuid2:3" (tags too,
// "uuid:tag:4"). A number lower than the one held for the same domain or UUID leaves it as it is.
func (w *GTIDWatermark) Advance(gtid string) error {
	gtid = strings.TrimSpace(gtid)
	if gtid == "" {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	moved := false
	for part := range strings.SplitSeq(gtid, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		var m bool
		var err error
		if strings.IndexByte(part, ':') >= 0 {
			m, err = w.advanceMySQL(part)
		} else {
			m, err = w.advanceMariaDB(part)
		}
		if err != nil {
			return err
		}
		moved = moved || m
	}
	if moved {
		w.gen++
	}
	return nil
}

func (w *GTIDWatermark) kind(k gtidKind) {
	if w.kinds == nil {
		w.kinds = map[gtidKind]struct{}{}
	}
	w.kinds[k] = struct{}{}
}

// advanceMariaDB merges "domain-server-sequence".
func (w *GTIDWatermark) advanceMariaDB(s string) (bool, error) {
	f := strings.Split(s, "-")
	if len(f) != 3 {
		return false, fmt.Errorf("rawmysql: GTID %q: want domain-server-sequence or uuid:number", s)
	}
	domain, err1 := strconv.ParseUint(f[0], 10, 32)
	server, err2 := strconv.ParseUint(f[1], 10, 32)
	seq, err3 := strconv.ParseUint(f[2], 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		return false, fmt.Errorf("rawmysql: GTID %q: want domain-server-sequence of decimal numbers", s)
	}
	w.kind(gtidMariaDB)
	if w.mariadb == nil {
		w.mariadb = map[uint32]mariaGTID{}
	}
	cur, ok := w.mariadb[uint32(domain)]
	if ok && cur.seq >= seq {
		return false, nil
	}
	w.mariadb[uint32(domain)] = mariaGTID{server: uint32(server), seq: seq}
	return true, nil
}

// advanceMySQL merges one "uuid[:tag]:interval[:interval...]" element of a GTID set.
func (w *GTIDWatermark) advanceMySQL(s string) (bool, error) {
	fields := strings.Split(s, ":")
	uuid := strings.ToLower(strings.TrimSpace(fields[0]))
	if !validUUID(uuid) {
		return false, fmt.Errorf("rawmysql: GTID set %q: %q is not a source UUID", s, fields[0])
	}
	w.kind(gtidMySQL)
	if w.mysql == nil {
		w.mysql = map[string]uint64{}
	}
	key, moved, seen := uuid, false, false
	for _, f := range fields[1:] {
		f = strings.TrimSpace(f)
		if f == "" {
			return false, fmt.Errorf("rawmysql: GTID set %q: empty interval", s)
		}
		if c := f[0]; c < '0' || c > '9' { // a tag: the intervals that follow belong to uuid:tag
			if !validGTIDTag(f) {
				return false, fmt.Errorf("rawmysql: GTID set %q: bad tag %q", s, f)
			}
			key = uuid + ":" + strings.ToLower(f)
			continue
		}
		lo, hi, isRange := strings.Cut(f, "-")
		if !isRange {
			hi = lo
		}
		a, err1 := strconv.ParseUint(lo, 10, 64)
		b, err2 := strconv.ParseUint(hi, 10, 64)
		if err1 != nil || err2 != nil || a == 0 || b < a {
			return false, fmt.Errorf("rawmysql: GTID set %q: bad interval %q", s, f)
		}
		seen = true
		if b > w.mysql[key] {
			w.mysql[key] = b
			moved = true
		}
	}
	if !seen {
		return false, fmt.Errorf("rawmysql: GTID set %q: no transaction number", s)
	}
	return moved, nil
}

// Position returns the watermark as a position to wait for: MariaDB "domain-server-sequence" per domain,
// comma-separated (MASTER_GTID_WAIT's argument); MySQL "uuid:1-N" per UUID (WAIT_FOR_EXECUTED_GTID_SET's
// argument: every transaction of that source up to the highest one written, which includes the writes). ""
// when nothing was written.
func (w *GTIDWatermark) Position() string {
	pos, _, _ := w.snapshot()
	return pos
}

// String returns Position.
func (w *GTIDWatermark) String() string { return w.Position() }

// snapshot returns the position, its generation and whether it mixes MariaDB and MySQL GTIDs.
func (w *GTIDWatermark) snapshot() (pos string, gen uint64, mixed bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.posGen != w.gen || (w.gen > 0 && w.pos == "") {
		var parts []string
		domains := make([]uint32, 0, len(w.mariadb))
		for d := range w.mariadb {
			domains = append(domains, d)
		}
		slices.Sort(domains)
		for _, d := range domains {
			g := w.mariadb[d]
			parts = append(parts, fmt.Sprintf("%d-%d-%d", d, g.server, g.seq))
		}
		keys := make([]string, 0, len(w.mysql))
		for k := range w.mysql {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, cmp.Compare[string])
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s:1-%d", k, w.mysql[k]))
		}
		w.pos, w.posGen = strings.Join(parts, ","), w.gen
	}
	return w.pos, w.gen, len(w.kinds) > 1
}

// generation returns how many times the position moved.
func (w *GTIDWatermark) generation() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.gen
}

// GTIDWatermark returns the watermark this Connector's connections advance (trackGTID) and wait for
// (causalReads): Config.GTIDWatermark, or one of its own when the Config had none.
func (c *Connector) GTIDWatermark() *GTIDWatermark { return c.watermark() }

// LastGTID returns the position of the Connector's watermark (see GTIDWatermark.Position): the highest GTIDs
// written by its connections and by the other pools sharing the watermark.
func (c *Connector) LastGTID() string { return c.watermark().Position() }

// watermark returns Config.GTIDWatermark, else the Connector's own (made by newConnector, shared with the
// Connectors BeforeConnect makes for single connections).
func (c *Connector) watermark() *GTIDWatermark {
	if c.cfg.GTIDWatermark != nil {
		return c.cfg.GTIDWatermark
	}
	return c.ownWatermark
}

// gtidState is a connection's part in GTID tracking and causal reads (nil when both are off).
type gtidState struct {
	w        *GTIDWatermark
	track    bool   // report GTIDs (session tracking) and advance w
	causal   bool   // wait for w before reads
	waitedAt uint64 // w's generation the connection last waited for (or found nothing to wait for)
	timeout  time.Duration
	logErr   func(error)
}

// setupGTID prepares GTID tracking and causal reads for a new connection of connector.
func (c *conn) setupGTID(connector *Connector) error {
	cfg := c.cfg
	if !cfg.TrackGTID && !cfg.CausalReads {
		return nil
	}
	g := &gtidState{w: connector.watermark(), track: cfg.TrackGTID || cfg.CausalReads, causal: cfg.CausalReads,
		timeout: cfg.CausalWaitTimeout}
	if g.timeout <= 0 {
		g.timeout = defaultCausalWaitTimeout
	}
	if g.track {
		if !c.pc.Capabilities().Has(protocol.ClientSessionTrack) {
			return fmt.Errorf("rawmysql: trackGTID/causalReads: server %q does not offer session state tracking (CLIENT_SESSION_TRACK)",
				c.pc.ServerVersion())
		}
		w := g.w
		c.pc.OnGTID = func(gtid string) {
			if err := w.Advance(gtid); err != nil {
				c.logErr(err)
			}
		}
	}
	c.gtid = g
	return nil
}

// gtidSessionVar is the assignment the session setup adds to its SET for GTID tracking ("" when off).
func (c *conn) gtidSessionVar() string {
	if c.gtid == nil || !c.gtid.track {
		return ""
	}
	if c.pc.Handshake().IsMariaDB() {
		// Keep the variables the server tracks by default (autocommit, character sets, time_zone, …).
		return "session_track_system_variables = CONCAT_WS(',', NULLIF(@@session_track_system_variables, ''), 'last_gtid')"
	}
	return "session_track_gtids = OWN_GTID"
}

// mariaDBWaitQuery returns the query that waits until a MariaDB server has applied pos ("d-s-n,..."), built
// only from validated numbers. MASTER_GTID_WAIT watches gtid_slave_pos alone, so on the server that wrote the
// GTIDs (a primary, or a replica promoted since) it would never return: the query first compares, domain by
// domain, the sequence numbers of @@gtid_current_pos (which holds the server's own writes too) and calls
// MASTER_GTID_WAIT only when one is behind. Sequence numbers grow within a domain across servers (MariaDB's
// GTID model), so a higher number in the same domain means the position is applied.
func mariaDBWaitQuery(pos, secs string) string {
	var b strings.Builder
	b.WriteString("SELECT IF(")
	for i, g := range strings.Split(pos, ",") {
		f := strings.Split(g, "-") // domain, server, sequence (validated by Advance)
		if i > 0 {
			b.WriteString(" AND ")
		}
		// The current position without blanks, each GTID after a comma; the sequence number of this domain's
		// GTID, 0 when the domain is absent ('0' prefixed so that an absent domain converts without warning).
		fmt.Fprintf(&b, "CAST(CONCAT('0', REGEXP_REPLACE(REGEXP_SUBSTR(CONCAT(',', REPLACE(REPLACE("+
			"@@GLOBAL.gtid_current_pos, ' ', ''), CHAR(10), '')), ',%s-[0-9]+-[0-9]+'), '^,%s-[0-9]+-', '')) "+
			"AS UNSIGNED) >= %s", f[0], f[0], f[2])
	}
	b.WriteString(", 0, MASTER_GTID_WAIT('" + pos + "', " + secs + "))")
	return b.String()
}

// LastGTID returns the GTID of the last transaction the connection committed ("" when none was reported).
func (c *conn) LastGTID() string { return c.pc.LastGTID() }

// causalWait waits, before a read, until the server has applied the watermark's position, when it moved
// since the connection last waited. A server that has not applied it in time fails the read with
// ErrCausalTimeout; nothing else is sent then.
func (c *conn) causalWait(ctx context.Context) error {
	g := c.gtid
	pos, gen, mixed := g.w.snapshot()
	if gen == g.waitedAt {
		return nil
	}
	if pos == "" {
		g.waitedAt = gen
		return nil
	}
	if mixed {
		return fmt.Errorf("rawmysql: causal read: the GTID watermark mixes MariaDB and MySQL GTIDs (%s)", pos)
	}
	timeout := g.timeout
	if dl, ok := ctx.Deadline(); ok {
		// Leave the server a little less than the context, so that it answers "timed out" itself.
		left := time.Until(dl) - time.Until(dl)/10
		if left < timeout {
			timeout = left
		}
	}
	if timeout <= 0 {
		return fmt.Errorf("%w: position %s, no time left in the context", ErrCausalTimeout, pos)
	}
	secs := strconv.FormatFloat(timeout.Seconds(), 'f', 3, 64)
	var q string
	mariadb := c.pc.Handshake().IsMariaDB()
	if mariadb {
		q = mariaDBWaitQuery(pos, secs)
	} else {
		q = "SELECT WAIT_FOR_EXECUTED_GTID_SET('" + pos + "', " + secs + ")"
	}
	began := time.Now()
	row, err := c.queryRow(ctx, q)
	if err != nil {
		return err
	}
	// MASTER_GTID_WAIT: 0 reached, -1 timed out. WAIT_FOR_EXECUTED_GTID_SET: 0 reached, 1 timed out.
	if len(row) != 1 || row[0] != "0" {
		got := "no value"
		if len(row) == 1 {
			got = row[0]
		}
		return fmt.Errorf("%w: position %s not applied by %s after %v (the wait returned %s)", ErrCausalTimeout, pos,
			c.pc.ServerVersion(), time.Since(began).Round(time.Millisecond), got)
	}
	g.waitedAt = gen
	return nil
}

// validUUID reports whether s is a UUID in its 36-character text form (hex digits and four dashes).
func validUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// validGTIDTag reports whether s is a GTID tag (MySQL 8.3+): a letter or '_', then up to 31 letters, digits or
// '_'.
func validGTIDTag(s string) bool {
	if len(s) == 0 || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// The GTID DSN parameters (registered here so that the parameter table in dsn.go needs no change).
func init() {
	dsnParams["trackGTID"] = boolParam(func(c *Config) *bool { return &c.TrackGTID }, false)
	dsnParams["causalReads"] = boolParam(func(c *Config) *bool { return &c.CausalReads }, false)
	dsnParams["causalWaitTimeout"] = durationParam(func(c *Config) *time.Duration { return &c.CausalWaitTimeout })
	dsnParams["gtidWatermark"] = dsnParam{
		parse: func(c *Config, key, value string) error {
			if value == "" {
				c.GTIDWatermark = nil
				return nil
			}
			c.GTIDWatermark = NamedGTIDWatermark(value)
			return nil
		},
		format: func(c *Config) (string, bool) {
			if c.GTIDWatermark == nil || c.GTIDWatermark.name == "" {
				return "", false
			}
			return c.GTIDWatermark.name, true
		},
	}
}
