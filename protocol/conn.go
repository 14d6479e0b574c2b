package protocol

import (
	"context"
	"crypto/rsa"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// ClientName and ClientVersion are sent as the _client_name and _client_version connection attributes.
const (
	ClientName    = "rawmysql"
	ClientVersion = "0.1.0"
)

// Options configure one protocol connection (the root package builds them from its Config).
type Options struct {
	User      string
	Password  string
	Database  string
	Collation uint8 // connection collation id (0: utf8mb4_general_ci)

	MaxPacketSize int // largest payload sent; 0: 64 MiB
	MaxReadPacket int // largest joined payload accepted; 0: DefaultMaxReadPacket

	Attributes [][2]string // extra connection attributes, after the standard ones
	ServerHost string      // sent as the _server_host attribute when not empty

	ClientFoundRows bool
	MultiStatements bool

	TLS          *tls.Config // nil: no TLS
	TLSPreferred bool        // with TLS set: continue in plaintext when the server offers no TLS
	Unix         bool        // transport is a unix socket

	AllowNativePasswords    bool
	AllowCleartextPasswords bool
	AllowPublicKeyRetrieval bool
	ServerPubKey            *rsa.PublicKey

	Compress bool // zlib protocol compression after authentication

	ReadTimeout  time.Duration
	WriteTimeout time.Duration

	// Trace, when set, is called for every packet read ('<') or written ('>'), with the payload (valid only
	// during the call; authentication responses are passed as is: tracers must mask them).
	Trace func(dir byte, seq uint8, payload []byte)
}

// State is the connection's position in the protocol.
type State int32

// Connection states.
const (
	StateIdle   State = iota // ready for a command
	StateBusy                // a result set (or further results) is still to be read
	StateBroken              // an I/O or protocol error happened; the connection is unusable
	StateClosed              // closed by the client
)

// String returns the state's name ("idle", "busy", "broken", "closed").
func (s State) String() string {
	switch s {
	case StateIdle:
		return "idle"
	case StateBusy:
		return "busy"
	case StateBroken:
		return "broken"
	case StateClosed:
		return "closed"
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// Conn is one client connection speaking the MySQL protocol. It is not safe for concurrent use, except
// Watch's cancellation, which may fire from another goroutine.
type Conn struct {
	f     framer
	nc    net.Conn
	state atomic.Int32

	hs     Handshake
	caps   Capability // negotiated
	mcaps  uint32     // negotiated MariaDB extended capabilities
	status StatusFlag // last status flags seen
	tls    bool

	opts Options
	res  Result // the one result set reader, reused

	// context watching
	watchMu   sync.Mutex
	stopWatch func() bool
	watchCtx  context.Context
	keepAfter bool // the interrupt left the stream intact (KILL sent, or nothing was in flight)

	// OnInterrupt, if set, is called (from the cancelling goroutine) when a watched context is done while a
	// command's reply is awaited (state busy). It should ask the server to stop the command (KILL QUERY
	// through another connection) within budget and report whether that succeeded. When it did, the
	// connection keeps reading the server's answer for InterruptGrace more; if the reply ends cleanly
	// within that time the connection stays usable. Otherwise (or when OnInterrupt is nil or fails) the
	// socket deadline is forced into the past and the connection is discarded.
	OnInterrupt func(budget time.Duration) bool
	// InterruptGrace bounds the wait for the reply of a command stopped by OnInterrupt (0: DefaultInterruptGrace).
	InterruptGrace time.Duration

	// LocalInfile answers a LOAD DATA LOCAL INFILE request for name; nil refuses every request.
	LocalInfile func(name string) (io.ReadCloser, error)

	query string // the COM_QUERY text being run (for LOCAL INFILE checks)
}

// CurrentQuery returns the text of the COM_QUERY in progress ("" for other commands).
func (c *Conn) CurrentQuery() string { return c.query }

// Connect runs the connection phase over nc: reads the server handshake, upgrades to TLS when configured,
// sends HandshakeResponse41 and completes authentication (including auth switches). The caller bounds the
// whole phase with ctx (deadline and cancellation).
func Connect(ctx context.Context, nc net.Conn, opts Options) (*Conn, error) {
	c := &Conn{nc: nc, opts: opts}
	c.state.Store(int32(StateBusy)) // until authentication is done
	c.initFramer()
	if err := c.Watch(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	err := c.handshake(ctx)
	if werr := c.Unwatch(); err == nil {
		err = werr
	}
	if err != nil {
		c.fail()
		return nil, err
	}
	c.state.Store(int32(StateIdle))
	return c, nil
}

func (c *Conn) initFramer() {
	c.f.rd, c.f.wr, c.f.nc = c.nc, c.nc, c.nc
	c.f.maxWrite = c.opts.MaxPacketSize
	if c.f.maxWrite <= 0 {
		c.f.maxWrite = 64 << 20
	}
	c.f.maxRead = c.opts.MaxReadPacket
	if c.f.maxRead <= 0 {
		c.f.maxRead = DefaultMaxReadPacket
	}
	c.f.readTimeout = c.opts.ReadTimeout
	c.f.writeTimeout = c.opts.WriteTimeout
	c.f.trace = c.opts.Trace
	c.f.interruptFn = c.interruptErr
}

// desired client capabilities before negotiation.
func (c *Conn) clientCaps() Capability {
	caps := ClientLongPassword | ClientLongFlag | ClientProtocol41 | ClientSecureConnection | ClientTransactions |
		ClientMultiResults | ClientPSMultiResults | ClientPluginAuth | ClientPluginAuthLenencClientData |
		ClientConnectAttrs | ClientDeprecateEOF | ClientLocalFiles
	if c.opts.Database != "" {
		caps |= ClientConnectWithDB
	}
	if c.opts.ClientFoundRows {
		caps |= ClientFoundRows
	}
	if c.opts.MultiStatements {
		caps |= ClientMultiStatements
	}
	if c.opts.Compress {
		caps |= ClientCompress
	}
	return caps
}

func (c *Conn) handshake(ctx context.Context) error {
	c.f.resetSeq()
	p, err := c.f.readPacket()
	if err != nil {
		return err
	}
	if err := c.hs.Decode(p); err != nil {
		return err
	}
	if !c.hs.Capabilities.Has(ClientProtocol41) {
		return protoErr("Handshake", "server %q does not support protocol 4.1 (CLIENT_PROTOCOL_41)", c.hs.ServerVersion)
	}
	c.status = c.hs.Status
	c.caps = c.clientCaps() & (c.hs.Capabilities | ClientLocalFiles)
	c.mcaps = MariaDBClientCacheMetadata & c.hs.MariaDBCaps
	c.caps &^= ClientSSL
	collation := c.opts.Collation
	if collation == 0 {
		collation = 45 // utf8mb4_general_ci
	}
	maxPacket := uint32(c.f.maxWrite)

	if c.opts.TLS != nil {
		if !c.hs.Capabilities.Has(ClientSSL) {
			if !c.opts.TLSPreferred {
				return &TLSUnavailableError{Server: c.hs.ServerVersion}
			}
		} else {
			buf := AppendSSLRequest(c.f.startPacket(), c.caps, maxPacket, collation, c.mcaps)
			if err := c.f.writePacket(buf); err != nil {
				return err
			}
			tc := tls.Client(c.nc, c.opts.TLS)
			if err := tc.HandshakeContext(ctx); err != nil {
				if ie := c.interruptErr(); ie != nil && c.f.interrupted.Load() {
					return &IOError{Op: "TLS handshake", Written: true, Err: ie}
				}
				return &IOError{Op: "TLS handshake", Written: true, Err: err}
			}
			c.nc = tc
			c.f.rd, c.f.wr, c.f.nc = tc, tc, tc
			c.caps |= ClientSSL
			c.tls = true
		}
	}

	st := &AuthState{Password: c.opts.Password, Scramble: c.hs.AuthData, TLS: c.tls, Unix: c.opts.Unix, Opts: &c.opts, ServerPubKey: c.opts.ServerPubKey}
	pluginName := c.hs.AuthPlugin
	if pluginName == "" {
		pluginName = "mysql_native_password"
	}
	plugin, ok := LookupAuthPlugin(pluginName)
	var authResp []byte
	if ok {
		authResp, err = plugin.Start(st)
	}
	if !ok || err != nil {
		// Answer with a default plugin; the server switches to the account's plugin when it differs. With
		// mysql_native_password disabled, caching_sha2_password plays that role, so a native-password account
		// is refused (clearly) only when the server really asks for it.
		fallback := "mysql_native_password"
		if !c.opts.AllowNativePasswords {
			fallback = "caching_sha2_password"
		}
		plugin, _ = LookupAuthPlugin(fallback)
		st.Step = 0
		authResp, err = plugin.Start(st)
		if err != nil {
			return err
		}
	}
	resp := HandshakeResponse{
		Capabilities:  c.caps,
		MaxPacketSize: maxPacket,
		Charset:       collation,
		User:          c.opts.User,
		AuthResponse:  authResp,
		Database:      c.opts.Database,
		AuthPlugin:    plugin.Name(),
		Attributes:    c.attributes(),
		MariaDBCaps:   c.mcaps,
	}
	if err := c.f.writePacket(resp.AppendTo(c.f.startPacket())); err != nil {
		return err
	}
	return c.authLoop(plugin, st)
}

func (c *Conn) attributes() [][2]string {
	attrs := [][2]string{
		{"_client_name", ClientName},
		{"_client_version", ClientVersion},
		{"_os", runtime.GOOS},
		{"_platform", runtime.GOARCH},
		{"_pid", strconv.Itoa(os.Getpid())},
		{"_runtime_version", runtime.Version()},
	}
	if c.opts.ServerHost != "" {
		attrs = append(attrs, [2]string{"_server_host", c.opts.ServerHost})
	}
	return append(attrs, c.opts.Attributes...)
}

// maxAuthRounds bounds the auth exchange so a hostile server cannot keep us in it forever.
const maxAuthRounds = 16

func (c *Conn) authLoop(plugin AuthPlugin, st *AuthState) error {
	for round := 0; round < maxAuthRounds; round++ {
		p, err := c.f.readPacket()
		if err != nil {
			return err
		}
		if len(p) == 0 {
			return protoErr("authentication", "empty packet")
		}
		switch p[0] {
		case 0x00:
			var ok OKPacket
			if err := ok.Decode(p); err != nil {
				return err
			}
			c.status = ok.Status
			return c.afterAuth()
		case 0xff:
			return authServerError(DecodeError(p), c.opts.User)
		case 0xfe:
			var sw AuthSwitchRequest
			if err := sw.Decode(p); err != nil {
				return err
			}
			np, ok := LookupAuthPlugin(sw.Plugin)
			if !ok {
				return &UnsupportedPluginError{Plugin: sw.Plugin}
			}
			plugin = np
			st.Scramble = sw.Data
			st.Step = 0
			resp, err := plugin.Start(st)
			if err != nil {
				return err
			}
			if err := c.f.writePacket(append(c.f.startPacket(), resp...)); err != nil {
				return err
			}
		case 0x01:
			resp, send, err := plugin.Continue(st, p[1:])
			if err != nil {
				return err
			}
			if send {
				if err := c.f.writePacket(append(c.f.startPacket(), resp...)); err != nil {
					return err
				}
			}
		default:
			return protoErr("authentication", "unexpected packet with header 0x%02x", p[0])
		}
	}
	return protoErr("authentication", "no result after %d rounds", maxAuthRounds)
}

// afterAuth switches on what the negotiated capabilities require once authentication is done.
func (c *Conn) afterAuth() error {
	if c.caps.Has(ClientCompress) && compressionHook != nil {
		return compressionHook(c)
	}
	c.caps &^= ClientCompress
	return nil
}

// compressionHook installs protocol compression; set by compress.go when it is built in.
var compressionHook func(c *Conn) error

// TLSUnavailableError is returned when TLS is required but the server does not offer it.
type TLSUnavailableError struct{ Server string }

// Error says TLS was required and names the server.
func (e *TLSUnavailableError) Error() string {
	return "rawmysql: TLS is required (tls=" + "true/custom) but server " + strconv.Quote(e.Server) + " does not support it; refusing to continue in plaintext"
}

// Handshake returns the server's handshake.
func (c *Conn) Handshake() *Handshake { return &c.hs }

// ConnectionID is the server's id of this connection (for KILL).
func (c *Conn) ConnectionID() uint32 { return c.hs.ConnectionID }

// ServerVersion is the server's version string.
func (c *Conn) ServerVersion() string { return c.hs.ServerVersion }

// Capabilities are the negotiated capability flags.
func (c *Conn) Capabilities() Capability { return c.caps }

// Status is the last server status seen.
func (c *Conn) Status() StatusFlag { return c.status }

// TLS reports whether the connection is encrypted.
func (c *Conn) TLS() bool { return c.tls }

// State returns the connection state.
func (c *Conn) State() State { return State(c.state.Load()) }

// NetConn is the underlying connection (the TLS connection after an upgrade).
func (c *Conn) NetConn() net.Conn { return c.nc }

// Buffered is the number of bytes read from the socket but not consumed yet. On an idle connection it is 0
// unless the server sent something unrequested.
func (c *Conn) Buffered() int { return c.f.w - c.f.r }

// BytesIn and BytesOut count the bytes read and written so far.
func (c *Conn) BytesIn() int64 { return c.f.bytesIn }

// BytesOut counts the bytes written so far.
func (c *Conn) BytesOut() int64 { return c.f.bytesOut }

// SetTrace replaces the packet tracer.
func (c *Conn) SetTrace(fn func(dir byte, seq uint8, payload []byte)) { c.f.trace = fn }

// fail marks the connection broken and closes the socket.
func (c *Conn) fail() {
	if State(c.state.Swap(int32(StateBroken))) != StateClosed {
		c.nc.Close()
	} else {
		c.state.Store(int32(StateClosed))
	}
}

// Close sends COM_QUIT (best effort, when idle) and closes the socket.
func (c *Conn) Close() error {
	st := State(c.state.Swap(int32(StateClosed)))
	if st == StateClosed {
		return nil
	}
	if st == StateIdle {
		c.f.resetSeq()
		c.f.writeTimeout = time.Second
		_ = c.f.writePacket(append(c.f.startPacket(), byte(ComQuit)))
	}
	return c.nc.Close()
}

// beginCommand checks the state and starts a new sequence. The connection is busy until the command's
// exchange ends (idle), so a cancel can tell whether a reply is awaited.
func (c *Conn) beginCommand() error {
	switch State(c.state.Load()) {
	case StateIdle:
	case StateBusy:
		return ErrConnBusy
	default:
		return ErrConnClosed
	}
	c.f.resetSeq()
	c.f.cmdWritten = false
	c.query = ""
	c.f.shrink()
	c.state.Store(int32(StateBusy))
	return nil
}

// idle ends a command exchange: busy → idle (a broken or closed connection stays so).
func (c *Conn) idle() { c.state.CompareAndSwap(int32(StateBusy), int32(StateIdle)) }

// check marks the connection broken on any error that leaves the stream in an unknown position; errors that
// end the exchange cleanly (a server error, a refused packet that was never written) leave it idle.
func (c *Conn) check(err error) error {
	if err == nil {
		return nil
	}
	var se *ServerError
	if errors.As(err, &se) {
		c.idle()
		return err
	}
	var tl *packetTooLargeError
	if errors.As(err, &tl) && !c.f.cmdWritten {
		c.idle()
		return err
	}
	var le *LocalInfileError
	if errors.As(err, &le) && le.clean {
		c.idle()
		return err
	}
	c.fail()
	return err
}

// writeCommand sends a command with an argument.
func (c *Conn) writeCommand(cmd Command, arg []byte) error {
	if err := c.beginCommand(); err != nil {
		return err
	}
	buf := append(c.f.startPacket(), byte(cmd))
	buf = append(buf, arg...)
	return c.check(c.f.writePacket(buf))
}

// writeCommandString sends a command with a string argument without converting it to []byte first.
func (c *Conn) writeCommandString(cmd Command, arg string) error {
	if err := c.beginCommand(); err != nil {
		return err
	}
	buf := append(c.f.startPacket(), byte(cmd))
	buf = append(buf, arg...)
	return c.check(c.f.writePacket(buf))
}

// readOK reads an OK or ERR reply.
func (c *Conn) readOK() (OKPacket, error) {
	var ok OKPacket
	p, err := c.f.readPacket()
	if err != nil {
		return ok, c.check(err)
	}
	if len(p) == 0 {
		return ok, c.check(protoErr("OK", "empty packet"))
	}
	switch p[0] {
	case 0x00:
		if err := ok.Decode(p); err != nil {
			return ok, c.check(err)
		}
		c.status = ok.Status
		c.idle()
		return ok, nil
	case 0xff:
		return ok, c.check(DecodeError(p))
	}
	return ok, c.check(protoErr("OK", "unexpected packet with header 0x%02x", p[0]))
}

// Ping sends COM_PING.
func (c *Conn) Ping() error {
	if err := c.writeCommand(ComPing, nil); err != nil {
		return err
	}
	_, err := c.readOK()
	return err
}

// InitDB sends COM_INIT_DB to change the default database.
func (c *Conn) InitDB(db string) error {
	if err := c.writeCommandString(ComInitDB, db); err != nil {
		return err
	}
	_, err := c.readOK()
	return err
}

// ResetConnection sends COM_RESET_CONNECTION: session variables, temporary tables, user locks and prepared
// statements of the session are cleared (MySQL 5.7.3+, MariaDB 10.2.4+).
func (c *Conn) ResetConnection() error {
	if err := c.writeCommand(ComResetConnection, nil); err != nil {
		return err
	}
	_, err := c.readOK()
	return err
}

// Exec runs a statement with COM_QUERY and reads every result it produces; it returns the last OK
// (statements that return rows are drained). The first server error stops the exchange and is returned.
func (c *Conn) Exec(query string) (OKPacket, error) {
	res, err := c.Query(query)
	if err != nil {
		return OKPacket{}, err
	}
	return res.DrainAll()
}

// Query sends COM_QUERY and reads the first result's header. The returned Result is valid until Close; the
// connection is busy until then.
func (c *Conn) Query(query string) (*Result, error) {
	if err := c.writeCommandString(ComQuery, query); err != nil {
		return nil, err
	}
	c.query = query
	c.res.reset(c, false)
	c.state.Store(int32(StateBusy))
	if err := c.res.readHeader(); err != nil {
		return nil, err
	}
	return &c.res, nil
}

// DefaultInterruptGrace is how long a connection waits for the server's answer to a command stopped by
// OnInterrupt (KILL QUERY) before it gives up and discards the connection.
const DefaultInterruptGrace = 2 * time.Second

// interruptBudget bounds OnInterrupt (dialing the side connection and running KILL QUERY).
const interruptBudget = 5 * time.Second

// Watch arranges for ctx's cancellation or deadline to interrupt blocking I/O on the connection until
// Unwatch. An already-done context returns its error and nothing is sent.
func (c *Conn) Watch(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if ctx.Done() == nil {
		return nil
	}
	c.watchMu.Lock()
	c.watchCtx = ctx
	c.keepAfter = false
	c.watchMu.Unlock()
	c.stopWatch = context.AfterFunc(ctx, c.interrupt)
	return nil
}

// interrupt runs on the cancelling goroutine. It holds watchMu throughout, so Unwatch (and with it the next
// command) waits until a KILL QUERY sent for this command is done and cannot hit a later one.
func (c *Conn) interrupt() {
	c.watchMu.Lock()
	defer c.watchMu.Unlock()
	if c.watchCtx == nil {
		return
	}
	switch c.State() {
	case StateIdle:
		// No reply is awaited (e.g. all rows were read and the Rows are not closed yet): nothing is cut, but
		// a command started under this watch fails at once.
		c.keepAfter = true
		c.f.interruptAt.Store(aLongTimeAgo.UnixNano())
		c.f.interrupted.Store(true)
		_ = c.nc.SetDeadline(aLongTimeAgo)
		return
	case StateBusy:
		if c.OnInterrupt != nil && c.f.cmdWritten {
			// Keep reading while the kill is under way, bounded by its budget plus the grace.
			grace := c.InterruptGrace
			if grace <= 0 {
				grace = DefaultInterruptGrace
			}
			c.setInterruptDeadline(time.Now().Add(interruptBudget + grace))
			if c.OnInterrupt(interruptBudget) {
				c.keepAfter = true
				c.setInterruptDeadline(time.Now().Add(grace))
				return
			}
		}
	}
	c.keepAfter = false
	c.setInterruptDeadline(aLongTimeAgo)
}

func (c *Conn) setInterruptDeadline(t time.Time) {
	c.f.interruptAt.Store(t.UnixNano())
	c.f.interrupted.Store(true)
	_ = c.nc.SetDeadline(t)
}

func (c *Conn) interruptErr() error {
	c.watchMu.Lock()
	defer c.watchMu.Unlock()
	if c.watchCtx == nil {
		return nil
	}
	return c.watchCtx.Err()
}

// Unwatch stops watching the context given to Watch, waiting for a cancellation in progress (and its KILL
// QUERY) to finish. If the context interrupted the connection, its error is returned; the connection stays
// usable only when the interrupt left the stream intact and the command's exchange has ended (idle state),
// otherwise it is marked broken.
func (c *Conn) Unwatch() error {
	if c.stopWatch == nil {
		return nil
	}
	stopped := c.stopWatch()
	c.stopWatch = nil
	c.watchMu.Lock()
	ctx := c.watchCtx
	c.watchCtx = nil
	keep := c.keepAfter
	c.keepAfter = false
	c.watchMu.Unlock()
	if stopped || !c.f.interrupted.Load() {
		return nil
	}
	c.f.interrupted.Store(false)
	c.f.interruptAt.Store(0)
	if keep && c.State() == StateIdle && c.nc.SetDeadline(time.Time{}) == nil {
		return ctx.Err()
	}
	c.fail()
	return ctx.Err()
}

// SetMaxPacketSize changes the largest payload the client sends (e.g. to the server's max_allowed_packet).
func (c *Conn) SetMaxPacketSize(n int) { c.f.maxWrite = n }
