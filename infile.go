package rawmysql

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
)

var (
	infileMu       sync.RWMutex
	fileRegister   = map[string]bool{}
	readerRegister = map[string]func() io.Reader{}
)

// RegisterLocalFile allows LOAD DATA LOCAL INFILE to send the file at filePath (exactly as written in the
// statement). Without it (or allowAllFiles=true) the file is refused.
func RegisterLocalFile(filePath string) {
	infileMu.Lock()
	fileRegister[strings.Trim(filePath, `"`)] = true
	infileMu.Unlock()
}

// DeregisterLocalFile removes a file registered with RegisterLocalFile.
func DeregisterLocalFile(filePath string) {
	infileMu.Lock()
	delete(fileRegister, strings.Trim(filePath, `"`))
	infileMu.Unlock()
}

// RegisterReaderHandler registers a data source for LOAD DATA LOCAL INFILE 'Reader::<name>': handler is called
// for each such statement and its reader is streamed to the server in packets (closed afterwards if it is an
// io.Closer).
func RegisterReaderHandler(name string, handler func() io.Reader) {
	infileMu.Lock()
	readerRegister[name] = handler
	infileMu.Unlock()
}

// DeregisterReaderHandler removes a handler registered with RegisterReaderHandler.
func DeregisterReaderHandler(name string) {
	infileMu.Lock()
	delete(readerRegister, name)
	infileMu.Unlock()
}

// errInfileNotInQuery: the server asked for a file the statement did not name.
var errInfileNotInQuery = errors.New("refused: the statement being run does not name this file (a server may only ask for the file the query names)")

// localInfile answers a LOAD DATA LOCAL INFILE request from the server.
func (c *conn) localInfile(name string) (io.ReadCloser, error) {
	if q := c.pc.CurrentQuery(); name == "" || !strings.Contains(q, name) {
		return nil, errInfileNotInQuery
	}
	if rest, ok := strings.CutPrefix(name, "Reader::"); ok {
		if rc, ok := c.copyReaderFor(rest); ok { // a running CopyFrom (copyfrom.go)
			return rc, nil
		}
		infileMu.RLock()
		h := readerRegister[rest]
		infileMu.RUnlock()
		if h == nil {
			return nil, &infileRefusedError{fmt.Sprintf("reader '%s' is not registered", rest)}
		}
		rd := h()
		if rd == nil {
			return nil, &infileRefusedError{fmt.Sprintf("reader '%s' is <nil>", rest)}
		}
		if rc, ok := rd.(io.ReadCloser); ok {
			return rc, nil
		}
		return io.NopCloser(rd), nil
	}
	infileMu.RLock()
	allowed := fileRegister[name]
	infileMu.RUnlock()
	if !allowed && !c.cfg.AllowAllFiles {
		return nil, &infileRefusedError{fmt.Sprintf("local file '%s' is not registered", name)}
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// Server errors for LOAD DATA LOCAL refused because the server's local_infile is off.
const (
	errLocalInfileDisabled  = 3948 // ER_CLIENT_LOCAL_FILES_DISABLED (MySQL 8.0+)
	errLoadInfileCapability = 4166 // ER_LOAD_INFILE_CAPABILITY_DISABLED (MariaDB 10.5+)
	errNotAllowedCommand    = 1148 // ER_NOT_ALLOWED_COMMAND (older MariaDB, MySQL 5.7)
)

// LocalInfileDisabledError is returned when the server refuses LOAD DATA LOCAL INFILE because its local_infile
// system variable is off (MySQL 8.0+'s default). It names the setting to change and wraps the server's error,
// so errors.As to *MySQLError still finds 3948 (MySQL), 4166 (MariaDB 10.5+) or 1148 (older servers).
type LocalInfileDisabledError struct {
	Err *MySQLError
}

// Error says what to change on the server.
func (e *LocalInfileDisabledError) Error() string {
	return "rawmysql: LOAD DATA LOCAL INFILE is disabled on the server: its local_infile system variable is OFF " +
		"(the default of MySQL 8.0+); an administrator must enable it (SET GLOBAL local_infile = ON, on MySQL " +
		"SET PERSIST to keep it, or local_infile=1 in the server's configuration) — the driver already allows it " +
		"(RegisterLocalFile, RegisterReaderHandler or allowAllFiles=true choose the files); server said: " +
		e.Err.Error()
}

// Unwrap returns the server's error.
func (e *LocalInfileDisabledError) Unwrap() error { return e.Err }

// localInfileDisabled turns the server's refusal of a LOAD DATA LOCAL statement (query) because local_infile is
// off into a LocalInfileDisabledError; other errors are returned as they are.
func localInfileDisabled(err error, query string) error {
	var se *MySQLError
	if !errors.As(err, &se) || (se.Number != errLocalInfileDisabled && se.Number != errLoadInfileCapability &&
		se.Number != errNotAllowedCommand) {
		return err
	}
	var le *LocalInfileDisabledError
	if errors.As(err, &le) {
		return err
	}
	if se.Number == errNotAllowedCommand && !isLoadDataLocal(query) {
		return err
	}
	return &LocalInfileDisabledError{Err: se}
}

// isLoadDataLocal reports whether query looks like LOAD DATA LOCAL INFILE (or LOAD XML LOCAL INFILE).
func isLoadDataLocal(query string) bool {
	f := strings.Fields(strings.ToUpper(query))
	return len(f) >= 4 && f[0] == "LOAD" && (f[1] == "DATA" || f[1] == "XML") && (f[2] == "LOCAL" || len(f) > 4 && f[3] == "LOCAL")
}

// infileRefusedError is a LOAD DATA LOCAL INFILE request refused because nothing is registered under the
// name (RegisterLocalFile / RegisterReaderHandler, or allowAllFiles): the application sees exactly this text,
// go-sql-driver/mysql's, for code that compares it.
type infileRefusedError struct{ msg string }

func (e *infileRefusedError) Error() string { return e.msg }

// infileRefusal is the error returned for a *protocol.LocalInfileError refused by localInfile: its text is the
// refusal's, and the protocol's error stays reachable through Unwrap.
type infileRefusal struct {
	err error // the *protocol.LocalInfileError
	msg string
}

func (e *infileRefusal) Error() string { return e.msg }
func (e *infileRefusal) Unwrap() error { return e.err }
