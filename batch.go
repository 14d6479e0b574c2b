package rawmysql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"

	"github.com/rawmysql/rawmysql/internal/sanitize"
	"github.com/rawmysql/rawmysql/protocol"
)

// Batch is a list of statements that SendBatch sends to the server together.
type Batch struct {
	items []batchItem
	// DisableBulk keeps SendBatch from combining a run of one statement with several argument rows into one
	// COM_STMT_BULK_EXECUTE on MariaDB (each statement is then executed, pipelined, on its own).
	DisableBulk bool
}

type batchItem struct {
	query string
	args  []any
}

// Queue adds a statement with its arguments (as for Exec: ? placeholders, any type the driver binds).
func (b *Batch) Queue(query string, args ...any) {
	b.items = append(b.items, batchItem{query: query, args: args})
}

// Len is the number of statements queued.
func (b *Batch) Len() int { return len(b.items) }

// BatchResult is the outcome of one statement of a Batch.
type BatchResult struct {
	// RowsAffected and LastInsertId are what Exec's Result reports for the statement, unless RunTotals is set.
	RowsAffected int64
	LastInsertId int64
	// Combined is the number of statements of the COM_STMT_BULK_EXECUTE this one ran in (0 or 1: on its own).
	Combined int
	// RunTotals reports that RowsAffected and LastInsertId are the bulk execution's, the same in each result
	// of the run: RowsAffected the total of the run's statements, LastInsertId the first id the run generated.
	// That is what servers before MariaDB 11.5.1 report; later ones report each statement of a bulk execution
	// (MARIADB_CLIENT_BULK_UNIT_RESULTS), and RunTotals is then false.
	RunTotals bool
	// Err is the statement's error (a *MySQLError from the server), or the error that kept it from running.
	Err error
}

// BatchResults holds one BatchResult per queued statement, in order.
type BatchResults []BatchResult

// Err returns the first statement's error, or nil when every statement succeeded.
func (r BatchResults) Err() error {
	for i := range r {
		if r[i].Err != nil {
			return r[i].Err
		}
	}
	return nil
}

// BatchTarget is what SendBatch runs on: a *sql.Conn, a *sql.Tx or a *sql.DB (which picks one connection
// for the whole batch) of the rawmysql driver.
type BatchTarget interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// batchQuery is the statement text under which a batch goes through database/sql's ExecContext (the only
// path to the driver's connection that *sql.Tx offers); the driver recognises the *batchRun argument.
const batchQuery = "/* rawmysql.SendBatch */"

// batchRun carries a batch to the driver connection and its results back.
type batchRun struct {
	b   *Batch
	res BatchResults
	ran bool
}

// SendBatch runs the statements of b on one connection and returns their results in order.
//
// The statements are pipelined: all are written without waiting for each reply, then the replies are read
// in order, so the batch costs about one round trip instead of one per statement. Statements with arguments
// go through the connection's prepared-statement cache (COM_STMT_EXECUTE; a statement not prepared yet is
// prepared in the same pipeline, on MariaDB without waiting for the prepare's reply), or are interpolated
// with interpolateParams=true. On MariaDB, consecutive INSERT, REPLACE, UPDATE or DELETE statements with the
// same text and arguments of the same types are sent as one COM_STMT_BULK_EXECUTE (see BatchResult.Combined
// and RunTotals, Batch.DisableBulk): one statement for the server. Outside a transaction (autocommit on), a
// failing row then fails the whole run (rolled back on a transactional table) and each of its results
// carries the error.
// Inside a transaction, or with autocommit off, a run of at least 8 statements is sent after
// SAVEPOINT rawmysql_batch (left in place; the transaction's end drops it), and when it fails the driver rolls
// back to the savepoint and executes the run's statements again one by one, so that the outcome is that of
// sequential execution; except when that cannot be done safely, and the run's error is then reported for each
// of its statements: the rollback to the savepoint failed (the error ended the transaction, as a deadlock does)
// or warned (a non-transactional table, e.g. MyISAM, kept the rows written before the failing one, which would
// otherwise be written twice).
//
// The server runs the statements one after the other, in order, as if each had been executed on its own: a
// statement that fails does not stop the ones after it (they were already sent), its error is its result's
// Err. Inside a transaction this is the sequential execution of the statements in that transaction (but for
// the bulk runs' non-transactional case above) — including the case where a statement's error ends the
// transaction on the server (a deadlock, 1213, rolls it back): the statements after it, already sent, then run
// outside it, in autocommit mode, as they would if the caller went on after that error. An error that breaks
// the connection (I/O, a malformed reply, the context) closes it and becomes the Err of every statement whose
// reply was not read: those may or may not have run. LOAD DATA LOCAL INFILE cannot be batched.
func SendBatch(ctx context.Context, conn BatchTarget, b *Batch) BatchResults {
	br := &batchRun{b: b, res: make(BatchResults, len(b.items))}
	if len(b.items) == 0 {
		return br.res
	}
	_, err := conn.ExecContext(ctx, batchQuery, br)
	if err != nil {
		if !br.ran {
			err = fmt.Errorf("rawmysql: SendBatch: %w", err)
		}
		for i := range br.res {
			if br.res[i].Err == nil && (!br.ran || br.res[i] == (BatchResult{})) {
				br.res[i].Err = err
			}
		}
	}
	return br.res
}

// isBatchRun reports the argument SendBatch passes (CheckNamedValue lets it through).
func isBatchRun(v any) bool {
	_, ok := v.(*batchRun)
	return ok
}

// batchFromArgs returns the batch of a SendBatch call, if args is one.
func batchFromArgs(query string, args []driver.NamedValue) *batchRun {
	if len(args) != 1 || query != batchQuery {
		return nil
	}
	br, _ := args[0].Value.(*batchRun)
	return br
}

// pendingPrep is a statement being prepared in the current pipeline segment.
type pendingPrep struct {
	cmd int         // index of its PipePrepare
	cs  *cachedStmt // its cache entry once prepared (st set after the pipeline)
}

// batchPlan builds the pipeline of a batch, segment by segment.
type batchPlan struct {
	c       *conn
	cmds    []protocol.PipeCmd
	owners  [][]int // per command: the batch items it answers (none for a prepare)
	preps   map[string]*pendingPrep
	lastPre int // index of the last PipePrepare, for UseLast
	queries bool
	// guard is the index of the SAVEPOINT before a guarded bulk run (-1: none in the plan); run records in
	// guardErr its error and in bulkErr the run's own execution error (nil also when its prepare failed).
	guard    int
	guardErr error
	bulkErr  error
	nv       []driver.NamedValue // scratch of bulkParams
	slab     []protocol.Param    // where bulkParams carves argument rows from
}

// paramSlab is how many params bulkParams allocates at once.
const paramSlab = 1024

func (c *conn) runBatch(ctx context.Context, br *batchRun) (driver.Result, error) {
	if err := c.begin(batchQuery); err != nil {
		return nil, mapErr(err)
	}
	if c.pc.State() == protocol.StateCancelling {
		if err := c.pc.AwaitCancel(ctx); err != nil {
			return nil, err
		}
	}
	br.ran = true
	items := br.b.items
	res := br.res
	hs := c.pc.Handshake()
	mariadb := hs.IsMariaDB()
	bulk := mariadb && !br.b.DisableBulk && c.pc.MariaDBCapabilities()&protocol.MariaDBClientStmtBulkOperations != 0
	p := &batchPlan{c: c, preps: map[string]*pendingPrep{}, lastPre: -1, guard: -1}

	for i := 0; i < len(items); i++ {
		it := &items[i]
		if c.bad {
			res[i].Err = driver.ErrBadConn
			continue
		}
		nv := make([]driver.NamedValue, len(it.args))
		var cerr error
		for j, a := range it.args {
			v, err := convertArg(a, 0)
			if err != nil {
				cerr = fmt.Errorf("rawmysql: argument $%d: %w", j+1, err)
				break
			}
			nv[j] = driver.NamedValue{Ordinal: j + 1, Value: v}
		}
		if cerr != nil {
			res[i].Err = cerr
			continue
		}
		if len(nv) == 0 {
			p.add(protocol.PipeCmd{Kind: protocol.PipeQuery, Text: it.query}, i)
			p.queries = true
			continue
		}
		if c.cfg.InterpolateParams {
			text, err := c.interpolate(it.query, nv)
			if err == nil {
				p.add(protocol.PipeCmd{Kind: protocol.PipeQuery, Text: text}, i)
				p.queries = true
				continue
			}
			if err != errInterpolateUnsafe {
				res[i].Err = err
				continue
			}
		}
		params, err := c.toParams(nv, nil)
		if err != nil {
			res[i].Err = err
			continue
		}
		long := false
		for _, prm := range params {
			if prm.Kind == protocol.ParamBytes && len(prm.B) >= longDataThreshold || prm.Kind == protocol.ParamString && len(prm.S) >= longDataThreshold {
				long = true
			}
		}
		var cs *cachedStmt
		if pp := p.preps[it.query]; pp != nil {
			cs = pp.cs
		} else if c.cache != nil {
			cs = c.cache.Get(it.query)
		}
		if cs != nil && cs.Stmt != nil && len(params) != len(cs.Stmt.Params) {
			res[i].Err = &argCountError{want: len(cs.Stmt.Params), got: len(params)}
			continue
		}
		if long || cs != nil && c.stickyParams && !cs.Fits(params) {
			// Not pipelined: long data goes ahead of its execution, and a statement whose parameter types the
			// server fixed differently is prepared again. Run what is planned, then this one on its own.
			p.run(ctx, res)
			r, err := c.execContext(ctx, it.query, nv)
			res[i] = batchResultOf(r, err)
			continue
		}
		// Bulk: this item and the following ones with the same text and argument kinds.
		// Inside a transaction (or with autocommit off) a run is guarded by a savepoint (runGuarded), so only
		// a run long enough to pay for the round trip the guard ends the pipeline with.
		guarded := c.inTx || c.pc.Status()&(protocol.StatusInTrans|protocol.StatusAutocommit) != protocol.StatusAutocommit
		if bulk && i+1 < len(items) && items[i+1].query == it.query && len(items[i+1].args) == len(it.args) &&
			(!guarded || i+minGuardedRun <= len(items)) &&
			bulkable(it.query) && (cs == nil || cs.Stmt == nil || len(cs.Stmt.Columns) == 0) {
			rows := [][]protocol.Param{params}
			kinds := make([]protocol.ParamKind, len(params))
			mergeKinds(kinds, params)
			size := paramsSize(params)
			for j := i + 1; j < len(items) && items[j].query == it.query && len(items[j].args) == len(it.args) && size < maxBulkPayload; j++ {
				pr, ok := c.bulkParams(items[j].args, &p.nv, &p.slab)
				if !ok || !mergeKinds(kinds, pr) {
					break
				}
				rows = append(rows, pr)
				size += paramsSize(pr)
			}
			if len(rows) > 1 && (!guarded || len(rows) >= minGuardedRun) {
				owners := make([]int, len(rows))
				for k := range owners {
					owners[k] = i + k
				}
				cmd := protocol.PipeCmd{Kind: protocol.PipeBulk, Rows: rows}
				if !p.bind(&cmd, it.query, cs, params) {
					res[i].Err = &argCountError{want: sanitize.CountPlaceholders(it.query, c.noBackslashEscapes()), got: len(params)}
					continue
				}
				if guarded {
					p.runGuarded(ctx, res, it.query, cmd, owners)
				} else {
					p.addMany(cmd, owners)
				}
				i += len(rows) - 1
				continue
			}
		}
		cmd := protocol.PipeCmd{Kind: protocol.PipeExecute, Params: params}
		if !p.bind(&cmd, it.query, cs, params) {
			res[i].Err = &argCountError{want: sanitize.CountPlaceholders(it.query, c.noBackslashEscapes()), got: len(params)}
			continue
		}
		p.add(cmd, i)
	}
	p.run(ctx, res)
	if c.bad || c.pc.State() == protocol.StateBroken || c.pc.State() == protocol.StateClosed {
		c.bad = true
	}
	return result{}, nil
}

// bulkParams converts the arguments of a statement that may join a bulk run (false: it cannot). scratch is
// reused for the driver values (the params keep none of it); the params are carved from slab, so that a run's
// rows take one allocation per paramSlab params instead of one each.
func (c *conn) bulkParams(args []any, scratch *[]driver.NamedValue, slab *[]protocol.Param) ([]protocol.Param, bool) {
	if cap(*scratch) < len(args) {
		*scratch = make([]driver.NamedValue, len(args))
	}
	nv := (*scratch)[:len(args)]
	if cap(*slab)-len(*slab) < len(args) {
		*slab = make([]protocol.Param, 0, max(paramSlab, len(args)))
	}
	n := len(*slab)
	dst := (*slab)[n : n : n+len(args)]
	for j, a := range args {
		v, err := convertArg(a, 0)
		if err != nil {
			return nil, false
		}
		nv[j] = driver.NamedValue{Ordinal: j + 1, Value: v}
	}
	params, err := c.toParams(nv, dst)
	if err != nil {
		return nil, false
	}
	*slab = (*slab)[:n+len(params)]
	for _, prm := range params {
		if prm.Kind == protocol.ParamBytes && len(prm.B) >= longDataThreshold || prm.Kind == protocol.ParamString && len(prm.S) >= longDataThreshold {
			return nil, false
		}
	}
	return params, true
}

// bind points cmd at its statement: the cached one, or one prepared in this pipeline (a PipePrepare is added
// for the first use). false: the argument count does not match the placeholders.
func (p *batchPlan) bind(cmd *protocol.PipeCmd, query string, cs *cachedStmt, params []protocol.Param) bool {
	c := p.c
	if cs != nil && cs.Stmt != nil {
		cmd.Stmt = cs.Stmt
		if c.stickyParams {
			cs.Bind(params)
		}
		return true
	}
	pp := p.preps[query]
	if pp == nil {
		if sanitize.CountPlaceholders(query, c.noBackslashEscapes()) != len(params) {
			return false
		}
		pp = &pendingPrep{cmd: len(p.cmds), cs: &cachedStmt{Query: query}}
		p.preps[query] = pp
		p.cmds = append(p.cmds, protocol.PipeCmd{Kind: protocol.PipePrepare, Text: query})
		p.owners = append(p.owners, nil)
		p.lastPre = pp.cmd
		p.queries = false
	}
	if c.stickyParams {
		pp.cs.Bind(params)
	}
	cmd.From = pp.cmd
	// MariaDB 10.2+ executes "the statement prepared last" (id -1) without waiting for the prepare's reply;
	// only while no other prepare (nor a text statement, which could be an SQL PREPARE) came in between.
	cmd.UseLast = p.lastPre == pp.cmd && !p.queries && c.pc.Handshake().IsMariaDB()
	return true
}

func (p *batchPlan) add(cmd protocol.PipeCmd, item int) { p.addMany(cmd, []int{item}) }

func (p *batchPlan) addMany(cmd protocol.PipeCmd, items []int) {
	p.cmds = append(p.cmds, cmd)
	p.owners = append(p.owners, items)
}

// run sends the planned commands as one pipeline and records the results; the plan is emptied.
func (p *batchPlan) run(ctx context.Context, res BatchResults) {
	if len(p.cmds) == 0 {
		return
	}
	c := p.c
	out := make([]protocol.PipeResult, len(p.cmds))
	perr := c.pc.Pipeline(ctx, p.cmds, out)
	for k := range p.cmds {
		r := &out[k]
		if p.cmds[k].Kind == protocol.PipePrepare {
			p.settle(p.cmds[k].Text, r)
			continue
		}
		if k == p.guard {
			p.guardErr = r.Err
			continue
		}
		if p.guard >= 0 && k == p.guard+1 {
			p.bulkErr = r.Err
		}
		if (p.cmds[k].Kind == protocol.PipeExecute || p.cmds[k].Kind == protocol.PipeBulk) && p.cmds[k].Stmt == nil {
			if perr := out[p.cmds[k].From].Err; perr != nil && r.Err != nil {
				r.Err = perr // the statement did not prepare: its error, not the execution's "unknown statement"
				if p.guard >= 0 && k == p.guard+1 {
					p.bulkErr = nil
				}
			}
		}
		var br BatchResult
		if r.Err != nil {
			br.Err = c.batchErr(ctx, r.Err)
		} else {
			br.RowsAffected, br.LastInsertId = int64(r.OK.AffectedRows), int64(r.OK.LastInsertID)
		}
		if n := len(p.owners[k]); n > 1 {
			br.Combined = n
		}
		units := r.Units
		if len(units) != len(p.owners[k]) || br.Err != nil {
			units = nil // no result per statement (a server before MariaDB 11.5.1): the run's totals for each
			br.RunTotals = br.Err == nil && len(p.owners[k]) > 1
		}
		for j, i := range p.owners[k] {
			res[i] = br
			if units != nil {
				res[i].RowsAffected, res[i].LastInsertId = int64(units[j].AffectedRows), int64(units[j].LastInsertID)
			}
		}
	}
	if perr != nil && c.pc.State() != protocol.StateIdle && c.pc.State() != protocol.StateCancelling {
		c.bad = true
	}
	p.cmds, p.owners = p.cmds[:0], p.owners[:0]
	clear(p.preps)
	p.lastPre, p.queries, p.guard = -1, false, -1
}

// minGuardedRun is the fewest statements a bulk run inside a transaction combines: a guarded run ends its
// pipeline (one more round trip), which a handful of pipelined statements would not need.
const minGuardedRun = 8

// batchSavepoint is the savepoint that guards a bulk run inside a transaction. It is left in place after a
// run that succeeded (the next run's SAVEPOINT of the same name replaces it; the transaction's end drops it).
const batchSavepoint = "rawmysql_batch"

// runGuarded runs a bulk run (cmd, answering the batch items owners) inside a transaction with the semantics of
// executing its statements one by one: the run is sent after SAVEPOINT rawmysql_batch, in one pipeline with
// what is planned before it; when the run fails, the server has undone the whole statement, so the guard rolls
// back to the savepoint (nothing else ran after the run) and queues the run's statements again one by one: each
// then succeeds or fails on its own, as sequential execution would have it, with its own result or error. The run's error is kept for all its statements (as outside a transaction) when that
// cannot be proven safe: the SAVEPOINT failed, the rollback to it failed (the error ended the transaction, as a
// deadlock does) or warned (a non-transactional table kept rows the run wrote: running them again would write
// them twice), or the connection broke.
func (p *batchPlan) runGuarded(ctx context.Context, res BatchResults, query string, cmd protocol.PipeCmd, owners []int) {
	c := p.c
	p.guard = len(p.cmds)
	p.cmds = append(p.cmds, protocol.PipeCmd{Kind: protocol.PipeQuery, Text: "SAVEPOINT " + batchSavepoint})
	p.owners = append(p.owners, nil)
	p.addMany(cmd, owners)
	p.guardErr, p.bulkErr = nil, nil
	p.run(ctx, res)
	if p.bulkErr == nil || p.guardErr != nil || c.bad || c.pc.State() != protocol.StateIdle {
		return
	}
	var se *protocol.ServerError
	if !errors.As(p.bulkErr, &se) {
		return
	}
	ok, err := c.pc.Exec(ctx, "ROLLBACK TO SAVEPOINT "+batchSavepoint)
	if err != nil {
		if c.pc.State() != protocol.StateIdle && c.pc.State() != protocol.StateCancelling {
			c.bad = true
		}
		return
	}
	if ok.Warnings != 0 {
		return
	}
	cs := (*cachedStmt)(nil)
	if c.cache != nil {
		cs = c.cache.Get(query)
	}
	for k, item := range owners {
		res[item] = BatchResult{}
		one := protocol.PipeCmd{Kind: protocol.PipeExecute, Params: cmd.Rows[k]}
		if !p.bind(&one, query, cs, cmd.Rows[k]) {
			res[item].Err = &argCountError{want: sanitize.CountPlaceholders(query, c.noBackslashEscapes()), got: len(cmd.Rows[k])}
			continue
		}
		p.add(one, item)
	}
}

// settle puts a statement prepared in the pipeline into the cache (or closes it when it cannot stay).
func (p *batchPlan) settle(query string, r *protocol.PipeResult) {
	c := p.c
	pp := p.preps[query]
	if r.Stmt == nil || pp == nil {
		return
	}
	cs := pp.cs
	cs.Stmt = r.Stmt
	if c.cache == nil || !c.cache.Put(cs) {
		c.pc.QueueCloseStmt(r.Stmt.ID)
	}
}

// batchErr maps a statement's error as Exec would.
func (c *conn) batchErr(ctx context.Context, err error) error {
	// Not mapErr: part of the batch may have run, so nothing is reported as driver.ErrBadConn (retryable).
	return driverErr(ctxErr(ctx, err))
}

// batchResultOf turns Exec's return values into a BatchResult.
func batchResultOf(r driver.Result, err error) BatchResult {
	if err != nil {
		return BatchResult{Err: err}
	}
	var br BatchResult
	br.RowsAffected, _ = r.RowsAffected()
	br.LastInsertId, _ = r.LastInsertId()
	return br
}

// maxBulkPayload bounds the arguments of one COM_STMT_BULK_EXECUTE (a run longer than this is split into
// several, pipelined): well below any server's max_allowed_packet.
const maxBulkPayload = 1 << 20

// mergeKinds adds row's parameter kinds to kinds (one kind of non-NULL value per column); false, with kinds
// unchanged, when row does not fit.
func mergeKinds(kinds []protocol.ParamKind, row []protocol.Param) bool {
	for i := range row {
		if k := row[i].Kind; k != protocol.ParamNull && kinds[i] != protocol.ParamNull && kinds[i] != k {
			return false
		}
	}
	for i := range row {
		if kinds[i] == protocol.ParamNull {
			kinds[i] = row[i].Kind
		}
	}
	return true
}

// paramsSize estimates the bytes of a row of arguments in a bulk execution.
func paramsSize(row []protocol.Param) int {
	n := 0
	for i := range row {
		n += 10 + len(row[i].S) + len(row[i].B)
	}
	return n
}

// bulkable reports a statement MariaDB runs in COM_STMT_BULK_EXECUTE: INSERT, REPLACE, UPDATE or DELETE (a
// statement returning rows is refused with 1295; INSERT ... RETURNING is caught by its prepared columns).
func bulkable(query string) bool {
	q := strings.TrimLeft(query, " \t\r\n(")
	if len(q) < 6 {
		return false
	}
	switch strings.ToUpper(q[:6]) {
	case "INSERT", "UPDATE", "DELETE":
		return true
	}
	return len(q) >= 7 && strings.EqualFold(q[:7], "REPLACE")
}
