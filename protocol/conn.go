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

// Connection states. Only the Conn's lifecycle code (lock, unlock, the cancel recovery, fail, Close) changes
// the state; everything else asks.
const (
	StateIdle       State = iota // ready for a command
	StateBusy                    // a command's exchange is under way (e.g. a result set is still to be read)
	StateBroken                  // an I/O or protocol error happened; the socket is closed, nothing more is sent or read
	StateClosed                  // closed by the client
	StateCancelling              // a cancelled command's reply is being drained in the background (see CancelFunc)
)

// String returns the state's name ("idle", "busy", "broken", "closed", "cancelling").
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
	case StateCancelling:
		return "cancelling"
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// Conn is one client connection speaking the MySQL protocol. It is not safe for concurrent use: one goroutine
// runs its commands. Each command takes a context; the context is watched for that command only (see lock),
// and a cancel that fires later is a no-op.
type Conn struct {
	f     framer
	nc    net.Conn
	state atomic.Int32 // written only under mu, by setState

	hs     Handshake
	caps   Capability // negotiated
	mcaps  uint32     // negotiated MariaDB extended capabilities
	status StatusFlag // last status flags seen
	tls    bool

	opts Options
	res  Result // the one result set reader, reused

	// Command bracketing (lock/unlock) and the context watcher. mu guards gen, interrupted, recovered and every
	// state change.
	mu          sync.Mutex
	gen         uint64 // number of the command in progress; an interrupt armed for another number is a no-op
	interrupted bool   // the current command's context ended and its I/O was cut
	stopWatch   func() bool
	cmdCtx      context.Context // the current command's context (used by the command's goroutine only)
	phase       phase           // where the current command's reply can be resumed after an interrupt
	resumeAt    phase           // the phase of the read the interrupt cut
	recovered   chan struct{}   // closed when a background cancel recovery ends (nil: none ran)
	recovering  bool            // the recovery goroutine is draining (unlock leaves the state to it)
	delaying    bool            // the recovery is still giving the command CancelDelay to end by itself
	refused     bool            // the last command ended with a server error as the first packet of its reply
	txAtStart   bool            // the status flags said a transaction was open when the command started

	// CancelFunc, if set, asks the server to stop this connection's command (KILL QUERY through another
	// connection) within ctx. When a command's context ends after some of it was written, the caller gets the
	// context's error at once; in the background the reply is read, CancelFunc runs if the command has not
	// ended within CancelDelay (at once when a new command is waiting for the connection, or CancelDelay
	// after a Close), and the reply is drained (bounded by CancelGrace): the connection becomes idle again
	// only when the reply ended cleanly, otherwise it is closed. While that runs the state is StateCancelling
	// and a new command waits for the outcome. Without CancelFunc (or when the reply cannot be resumed) the
	// connection is closed at once.
	CancelFunc func(ctx context.Context) error
	// OnCancelStart, if set, is called (synchronously, before the command returns the context's error) when
	// a background cancel recovery starts; done is closed when it has ended.
	OnCancelStart func(done <-chan struct{})
	// CancelDelay is how long the reply is read before CancelFunc is called (0: DefaultCancelDelay).
	CancelDelay time.Duration
	// CancelTimeout bounds CancelFunc (0: DefaultCancelTimeout).
	CancelTimeout time.Duration
	// CancelGrace bounds the wait for the reply of a command stopped by CancelFunc (0: DefaultCancelGrace).
	CancelGrace time.Duration

	// LocalInfile answers a LOAD DATA LOCAL INFILE request for name; nil refuses every request.
	LocalInfile func(name string) (io.ReadCloser, error)

	// OnGTID, if set, is called with the GTID each time an OK packet's session state reports one (see
	// LastGTID), on the goroutine running the command.
	OnGTID func(gtid string)
	// OnSessionState, if set, is called for every session state entry an OK packet carries (CLIENT_SESSION_TRACK);
	// ch and its slices are valid only during the call.
	OnSessionState func(ch *SessionStateChange)
	sess           sessionTrack

	query string // the COM_QUERY text being run (for LOCAL INFILE checks)
}

// phase says how an interrupted command's reply can be read to its end.
type phase uint8

const (
	phaseNone    phase = iota // not resumable: the connection must be closed
	phaseOK                   // an OK or ERR is awaited
	phaseResult               // a result header, rows or a further result (Result.drain finishes it)
	phasePrepare              // the first packet of a COM_STMT_PREPARE reply
)

// CurrentQuery returns the text of the COM_QUERY in progress ("" for other commands).
func (c *Conn) CurrentQuery() string { return c.query }

// Connect runs the connection phase over nc: reads the server handshake, upgrades to TLS when configured,
// sends HandshakeResponse41 and completes authentication (including auth switches). The caller bounds the
// whole phase with ctx (deadline and cancellation).
func Connect(ctx context.Context, nc net.Conn, opts Options) (*Conn, error) {
	c := &Conn{nc: nc, opts: opts}
	c.state.Store(int32(StateBusy)) // until authentication is done
	c.initFramer()
	if err := ctx.Err(); err != nil {
		nc.Close()
		return nil, err
	}
	c.cmdCtx = ctx
	var stop func() bool
	if ctx.Done() != nil {
		gen := c.gen
		stop = context.AfterFunc(ctx, func() { c.interrupt(gen) })
	}
	err := c.handshake(ctx)
	if stop != nil && !stop() {
		c.mu.Lock() // wait for a running interrupt
		c.gen++
		c.mu.Unlock()
		if err == nil {
			err = ctx.Err()
		}
	}
	c.cmdCtx = nil
	if err != nil {
		c.fail()
		return nil, err
	}
	c.f.interrupted.Store(false)
	c.f.interruptAt.Store(0)
	c.mu.Lock()
	c.gen++
	c.setState(StateIdle)
	c.mu.Unlock()
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
		ClientConnectAttrs | ClientDeprecateEOF | ClientLocalFiles | ClientSessionTrack
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
	c.mcaps = (MariaDBClientCacheMetadata | MariaDBClientStmtBulkOperations | MariaDBClientBulkUnitResults) & c.hs.MariaDBCaps
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
				if ie := c.interruptErr(); ie != nil {
					return &IOError{Op: "TLS handshake", Written: true, Err: ie}
				}
				return &IOError{Op: "TLS handshake", Written: true, Err: err}
			}
			c.mu.Lock() // interrupt (the context's goroutine) reads c.nc
			c.nc = tc
			c.f.rd, c.f.wr, c.f.nc = tc, tc, tc
			c.mu.Unlock()
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
			c.noteOK(&ok)
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
	if c.caps.Has(ClientCompress) {
		return startCompression(c)
	}
	return nil
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

// setState changes the state; c.mu must be held. Closed is final, and a broken connection can only be
// closed: nothing brings either back.
func (c *Conn) setState(s State) {
	switch State(c.state.Load()) {
	case StateClosed:
		return
	case StateBroken:
		if s != StateClosed {
			return
		}
	}
	c.state.Store(int32(s))
}

// fail marks the connection broken and closes the socket: after an I/O or protocol error the stream's
// position is unknown, so nothing more is read from or written to it.
func (c *Conn) fail() {
	c.mu.Lock()
	c.failLocked()
	c.mu.Unlock()
}

func (c *Conn) failLocked() {
	if State(c.state.Load()) == StateClosed {
		return
	}
	c.setState(StateBroken)
	c.nc.Close()
}

// Close sends COM_QUIT (best effort, when idle) and closes the socket. A background cancel recovery in
// progress ends with it (the connection is not reused).
func (c *Conn) Close() error {
	c.mu.Lock()
	st := State(c.state.Load())
	if st == StateClosed {
		c.mu.Unlock()
		return nil
	}
	c.setState(StateClosed)
	c.mu.Unlock()
	if st == StateIdle {
		c.f.resetSeq()
		c.f.writeTimeout = time.Second
		_ = c.f.writePacket(append(c.f.startPacket(), byte(ComQuit)))
	}
	if st == StateBroken {
		return nil // already closed by fail
	}
	return c.nc.Close()
}

// lock starts a command: it waits for a background cancel recovery to end (bounded by ctx), checks that
// the connection is idle, makes it busy and arms the watcher of ctx for this command only. An already-done
// context returns its error and nothing is sent. Every lock is paired with one unlock, called when the
// command's exchange ends.
func (c *Conn) lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.State() == StateCancelling {
		c.hurryCancel()
		if err := c.AwaitCancel(ctx); err != nil {
			return err
		}
	}
	c.mu.Lock()
	switch State(c.state.Load()) {
	case StateIdle:
	case StateBusy:
		c.mu.Unlock()
		return ErrConnBusy
	default:
		c.mu.Unlock()
		return ErrConnClosed
	}
	c.gen++
	gen := c.gen
	c.interrupted = false
	c.setState(StateBusy)
	c.mu.Unlock()

	c.f.resetSeq()
	c.f.cmdWritten = false
	c.f.pktIn = 0
	c.query = ""
	c.phase = phaseNone
	c.refused = false
	c.txAtStart = c.status&StatusInTrans != 0
	c.f.shrink()
	c.cmdCtx = ctx
	if ctx.Done() != nil {
		c.stopWatch = context.AfterFunc(ctx, func() { c.interrupt(gen) })
	}
	return nil
}

// interrupt runs on the goroutine of a context that ended. It acts only while the command it was armed for
// (number gen) is in progress: then it forces the socket deadline into the past, so the command's blocked
// read or write returns at once. For any later command it does nothing.
func (c *Conn) interrupt(gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen || State(c.state.Load()) != StateBusy {
		return
	}
	c.interrupted = true
	c.f.interruptAt.Store(aLongTimeAgo.UnixNano())
	c.f.interrupted.Store(true)
	_ = c.nc.SetDeadline(aLongTimeAgo)
}

// interruptErr is the error reported for I/O cut by the command's context (nil when none is watched).
func (c *Conn) interruptErr() error {
	if c.cmdCtx == nil {
		return nil
	}
	return c.cmdCtx.Err()
}

// unlock ends the command's exchange, disarms its watcher and decides the connection's next state from err:
//   - nil, a server error, or an error raised before any byte was written: idle;
//   - I/O cut by the command's context: the context's error is returned; if nothing was written the
//     connection is idle; if the reply can be read to its end and CancelFunc is set, the connection is
//     cancelling (KILL and drain run in the background); otherwise it is closed;
//   - anything else (I/O error, protocol error): broken, the socket is closed.
func (c *Conn) unlock(err error) error {
	if c.recovering {
		return err // the background recovery decides the state itself
	}
	if c.stopWatch != nil {
		c.stopWatch()
		c.stopWatch = nil
	}
	c.mu.Lock()
	c.gen++ // an interrupt still on its way is stale from now on
	interrupted := c.interrupted
	c.interrupted = false
	c.mu.Unlock()
	ctx := c.cmdCtx
	c.cmdCtx = nil
	next := StateIdle
	switch {
	case err == nil:
	case interrupted && isInterrupt(err):
		err = ctx.Err()
		switch {
		case !c.f.cmdWritten: // nothing reached the server
		case c.phase != phaseNone && c.CancelFunc != nil && !c.f.joining:
			next = StateCancelling
		default:
			next = StateBroken
		}
	case cleanEnd(err, c.f.cmdWritten):
	default:
		next = StateBroken
	}
	c.phase = phaseNone
	if interrupted && next != StateBroken {
		if next == StateIdle {
			c.f.interrupted.Store(false)
			c.f.interruptAt.Store(0)
		}
		if c.nc.SetDeadline(time.Time{}) != nil {
			next = StateBroken
		}
	}
	c.mu.Lock()
	switch next {
	case StateIdle:
		c.setState(StateIdle)
	case StateCancelling:
		done := make(chan struct{})
		c.recovered = done
		c.setState(StateCancelling)
		if c.OnCancelStart != nil {
			c.OnCancelStart(done)
		}
		var res *Result
		if c.resumeAt == phaseResult {
			res = c.res.resumeCopy()
		}
		go c.recoverCancel(done, c.resumeAt, res)
	default:
		c.failLocked()
	}
	c.mu.Unlock()
	return err
}

// isInterrupt reports an I/O error caused by the command's context.
func isInterrupt(err error) bool {
	var ioe *IOError
	return errors.As(err, &ioe) && (errors.Is(ioe.Err, context.Canceled) || errors.Is(ioe.Err, context.DeadlineExceeded))
}

// cleanEnd reports errors after which the stream is at a command boundary.
func cleanEnd(err error, written bool) bool {
	var se *ServerError
	if errors.As(err, &se) {
		return true
	}
	var tl *packetTooLargeError
	if errors.As(err, &tl) && !written {
		return true
	}
	var le *LocalInfileError
	return errors.As(err, &le) && le.clean
}

// DefaultCancelTimeout bounds CancelFunc when CancelTimeout is 0.
const DefaultCancelTimeout = 5 * time.Second

// DefaultCancelGrace is how long the reply of a command stopped by CancelFunc is awaited before the
// connection is closed instead.
const DefaultCancelGrace = 2 * time.Second

// DefaultCancelDelay is how long a cancelled command's reply is awaited before KILL QUERY is sent: a
// statement about to end needs no kill. A KILL costs a round trip on a side connection, and on MariaDB one
// that reaches a statement just ended, or a SLEEP among many, can stall the server for up to 2 s; waiting
// costs only the connection, which the caller and the pool no longer hold (the root package recycles it in
// the background).
const DefaultCancelDelay = 500 * time.Millisecond

// expired is a context whose deadline has passed: during a recovery, a read cut by its deadline reports it,
// which keeps the reply resumable.
var expired, _ = context.WithDeadline(context.Background(), time.Unix(1, 0))

// recoverCancel runs in the background after a command was cut by its context. It first reads the reply for
// a short while (CancelDelay): a command that ends by itself needs no kill. Otherwise it asks the server to
// stop the command (CancelFunc) and reads the reply to its end (CancelGrace). Only when the reply ended
// cleanly does the connection become idle again; otherwise it is closed. Packets read here are not traced.
func (c *Conn) recoverCancel(done chan struct{}, ph phase, res *Result) {
	defer close(done)
	trace := c.f.trace
	c.f.trace = nil
	c.recovering = true
	c.cmdCtx = expired
	delay := c.CancelDelay
	if delay <= 0 {
		delay = DefaultCancelDelay
	}
	killAt := time.Now().Add(delay)
	c.f.interruptAt.Store(killAt.UnixNano())
	c.f.interrupted.Store(true)
	c.mu.Lock()
	c.delaying = true
	c.mu.Unlock()
	// A reply that ends here, even with a server error, finished by itself: no kill was sent, none to clear.
	_, err := c.drain(ph, res)
	c.mu.Lock()
	c.delaying = false
	c.mu.Unlock()
	closed := c.State() == StateClosed // discarded meanwhile (e.g. a transaction whose statement was cancelled)
	if err != nil && closed {
		// The reply can no longer be watched: give the statement the same time to end by itself as an open
		// connection's (a KILL that reaches a statement just ended costs the server more than it saves).
		time.Sleep(time.Until(killAt))
	}
	if err != nil && (closed || isInterrupt(err) && c.phase != phaseNone && !c.f.joining) {
		// Still running (or unknown after a close): kill it, then wait for its reply unless closed.
		c.phase = phaseNone
		if res != nil {
			res.done, res.err = false, nil
		}
		timeout := c.CancelTimeout
		if timeout <= 0 {
			timeout = DefaultCancelTimeout
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		err = c.CancelFunc(ctx)
		cancel()
		if err == nil && closed {
			err = ErrConnClosed
		}
		if err == nil {
			grace := c.CancelGrace
			if grace <= 0 {
				grace = DefaultCancelGrace
			}
			c.f.interruptAt.Store(time.Now().Add(grace).UnixNano())
			var killed bool
			killed, err = c.drain(ph, res)
			if err == nil && !killed {
				err = c.clearKill()
			}
		}
	}
	c.cmdCtx = nil
	c.recovering = false
	c.f.trace = trace
	c.f.interrupted.Store(false)
	c.f.interruptAt.Store(0)
	if err == nil {
		err = c.nc.SetDeadline(time.Time{})
	}
	c.mu.Lock()
	if err == nil && State(c.state.Load()) == StateCancelling {
		c.setState(StateIdle)
	} else {
		c.failLocked()
	}
	c.mu.Unlock()
}

// drain reads the rest of an interrupted command's reply. A server error (the kill's ERR 1317) ends it
// cleanly; killed reports one.
func (c *Conn) drain(ph phase, res *Result) (killed bool, err error) {
	switch ph {
	case phaseOK:
		_, err = c.readReplyOK()
	case phaseResult:
		err = res.drain()
	case phasePrepare:
		var st *Stmt
		if st, err = c.readPrepareReply(); err == nil {
			c.QueueCloseStmt(st.ID) // nobody got the statement
		}
	default:
		err = errors.New("rawmysql: reply cannot be resumed")
	}
	var se *ServerError
	if errors.As(err, &se) {
		return true, nil
	}
	return false, err
}

// clearKill runs a no-op statement after a cancel whose reply ended normally: the command had finished
// before the KILL QUERY arrived, and a server that keeps such a kill pending for the session would interrupt
// the next statement (ERR 1317); this statement takes it instead of the next caller's.
func (c *Conn) clearKill() error {
	c.f.resetSeq()
	c.f.cmdWritten = false
	c.f.pktIn = 0
	if err := c.writeCommandString(ComQuery, "DO 0"); err != nil {
		return err
	}
	_, err := c.readReplyOK()
	var se *ServerError
	if errors.As(err, &se) {
		return nil
	}
	return err
}

// hurryCancel ends a background recovery's CancelDelay now: a command is waiting for the connection, so the
// cancelled statement is killed at once instead of being given time to end by itself.
func (c *Conn) hurryCancel() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.delaying {
		c.f.interruptAt.Store(time.Now().UnixNano())
		_ = c.nc.SetReadDeadline(aLongTimeAgo)
	}
}

// AwaitCancel waits until a background cancel recovery (StateCancelling) has ended, or ctx is done.
func (c *Conn) AwaitCancel(ctx context.Context) error {
	c.mu.Lock()
	done := c.recovered
	c.mu.Unlock()
	if done == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// readAt reads a packet at a point where an interrupted command can be resumed by drain (ph); the mark is
// cleared as soon as the packet is read.
func (c *Conn) readAt(ph phase) ([]byte, error) {
	c.phase = ph
	p, err := c.f.readPacket()
	if err == nil {
		c.phase = phaseNone
	} else {
		c.resumeAt = ph
	}
	return p, err
}

// Refused reports whether the last command ended with a server error as the very first packet of its reply:
// the server refused the command as a whole (for a CALL, statements of the routine may still have run).
func (c *Conn) Refused() bool { return c.refused }

// TxOpenAtStart reports whether the server's status flags said a transaction was open when the last command
// started.
func (c *Conn) TxOpenAtStart() bool { return c.txAtStart }

// writeCommand sends a command with an argument (the state is the caller's: between lock and unlock).
func (c *Conn) writeCommand(cmd Command, arg []byte) error {
	buf := append(c.f.startPacket(), byte(cmd))
	buf = append(buf, arg...)
	return c.f.writePacket(buf)
}

// writeCommandString sends a command with a string argument without converting it to []byte first.
func (c *Conn) writeCommandString(cmd Command, arg string) error {
	buf := append(c.f.startPacket(), byte(cmd))
	buf = append(buf, arg...)
	return c.f.writePacket(buf)
}

// readReplyOK reads an OK or ERR reply.
func (c *Conn) readReplyOK() (OKPacket, error) {
	var ok OKPacket
	p, err := c.readAt(phaseOK)
	if err != nil {
		return ok, err
	}
	if len(p) == 0 {
		return ok, protoErr("OK", "empty packet")
	}
	switch p[0] {
	case 0x00:
		if err := ok.Decode(p); err != nil {
			return ok, err
		}
		c.noteOK(&ok)
		return ok, nil
	case 0xff:
		if !c.recovering {
			c.refused = c.f.pktIn == 1
		}
		return ok, DecodeError(p)
	}
	return ok, protoErr("OK", "unexpected packet with header 0x%02x", p[0])
}

// simpleCommand runs a command answered by OK or ERR.
func (c *Conn) simpleCommand(ctx context.Context, cmd Command, arg []byte) (OKPacket, error) {
	if err := c.lock(ctx); err != nil {
		return OKPacket{}, err
	}
	if err := c.writeCommand(cmd, arg); err != nil {
		return OKPacket{}, c.unlock(err)
	}
	ok, err := c.readReplyOK()
	return ok, c.unlock(err)
}

// Ping sends COM_PING.
func (c *Conn) Ping(ctx context.Context) error {
	_, err := c.simpleCommand(ctx, ComPing, nil)
	return err
}

// InitDB sends COM_INIT_DB to change the default database.
func (c *Conn) InitDB(ctx context.Context, db string) error {
	_, err := c.simpleCommand(ctx, ComInitDB, []byte(db))
	return err
}

// ResetConnection sends COM_RESET_CONNECTION: session variables, temporary tables, user locks and prepared
// statements of the session are cleared (MySQL 5.7.3+, MariaDB 10.2.4+).
func (c *Conn) ResetConnection(ctx context.Context) error {
	_, err := c.simpleCommand(ctx, ComResetConnection, nil)
	return err
}

// Exec runs a statement with COM_QUERY and reads every result it produces; it returns the last OK
// (statements that return rows are drained). The first server error stops the exchange and is returned.
func (c *Conn) Exec(ctx context.Context, query string) (OKPacket, error) {
	res, err := c.Query(ctx, query)
	if err != nil {
		return OKPacket{}, err
	}
	return res.DrainAll()
}

// Query sends COM_QUERY and reads the first result's header. The returned Result is valid until its
// exchange ends (the last row or result is read, or Close); ctx is watched until then.
func (c *Conn) Query(ctx context.Context, query string) (*Result, error) {
	if err := c.lock(ctx); err != nil {
		return nil, err
	}
	c.query = query
	c.res.reset(c, false)
	if err := c.writeCommandString(ComQuery, query); err != nil {
		return nil, c.unlock(err)
	}
	if err := c.res.readHeader(); err != nil {
		return nil, err
	}
	return &c.res, nil
}

// SetMaxPacketSize changes the largest payload the client sends (e.g. to the server's max_allowed_packet).
func (c *Conn) SetMaxPacketSize(n int) { c.f.maxWrite = n }

// SetMaxReadPacket changes the largest payload accepted from the server.
func (c *Conn) SetMaxReadPacket(n int) {
	if n > 0 {
		c.f.maxRead = n
	}
}
