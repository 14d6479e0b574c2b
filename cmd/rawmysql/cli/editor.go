package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/peterh/liner"
)

// lineReader reads the lines typed at the prompt.
type lineReader interface {
	// ReadLine shows prompt and returns the line typed, without its line break: errAborted when Ctrl-C was
	// pressed, io.EOF at the end of the input (Ctrl-D on an empty line).
	ReadLine(prompt string) (string, error)
	// AddHistory records a statement typed, for the Up arrow and the history file.
	AddHistory(entry string)
	// Close restores the terminal and saves the history.
	Close() error
}

var errAborted = errors.New("rawmysql: input aborted (Ctrl-C)")

// terminalReader edits lines with github.com/peterh/liner: arrows, Home/End, Ctrl-A/E/K/U/W, Ctrl-R history
// search, history with Up/Down kept in a file.
type terminalReader struct {
	st       *liner.State
	histFile string // "" keeps no history file
	stderr   io.Writer
	closed   bool
}

// historyFile is the history's path: $RAWMYSQL_HISTFILE, or ~/.rawmysql_history ("" when there is no home).
func historyFile() string {
	if f, ok := os.LookupEnv("RAWMYSQL_HISTFILE"); ok {
		if f == os.DevNull {
			return ""
		}
		return f
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".rawmysql_history")
}

func newTerminalReader(stderr io.Writer) *terminalReader {
	st := liner.NewLiner()
	st.SetCtrlCAborts(true)
	st.SetMultiLineMode(true)
	st.SetTabCompletionStyle(liner.TabPrints)
	t := &terminalReader{st: st, histFile: historyFile(), stderr: stderr}
	if t.histFile != "" {
		if f, err := os.Open(t.histFile); err == nil {
			st.ReadHistory(f)
			f.Close()
		}
	}
	return t
}

func (t *terminalReader) ReadLine(prompt string) (string, error) {
	line, err := t.st.Prompt(prompt)
	if errors.Is(err, liner.ErrPromptAborted) {
		return "", errAborted
	}
	return line, err
}

func (t *terminalReader) AddHistory(entry string) {
	t.st.AppendHistory(entry)
	t.save()
}

// save writes the history file (after each statement, so a session ended by a second Ctrl-C keeps it).
func (t *terminalReader) save() {
	if t.histFile == "" {
		return
	}
	f, err := os.OpenFile(t.histFile, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		fmt.Fprintf(t.stderr, "rawmysql: history file: %v (set RAWMYSQL_HISTFILE=/dev/null to keep none)\n", err)
		t.histFile = ""
		return
	}
	if _, err := t.st.WriteHistory(f); err != nil {
		fmt.Fprintf(t.stderr, "rawmysql: writing the history file: %v\n", err)
	}
	f.Close()
}

func (t *terminalReader) Close() error {
	if t.closed {
		return nil
	}
	t.closed = true
	return t.st.Close()
}

// plainReader reads lines from a reader that is not a terminal, printing the prompts to out (tests).
type plainReader struct {
	sc  *bufio.Scanner
	out io.Writer
}

func newPlainReader(r io.Reader, out io.Writer) *plainReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	return &plainReader{sc: sc, out: out}
}

func (p *plainReader) ReadLine(prompt string) (string, error) {
	fmt.Fprint(p.out, prompt)
	if !p.sc.Scan() {
		if err := p.sc.Err(); err != nil {
			return "", err
		}
		return "", io.EOF
	}
	return p.sc.Text(), nil
}

func (p *plainReader) AddHistory(string) {}

func (p *plainReader) Close() error { return nil }
