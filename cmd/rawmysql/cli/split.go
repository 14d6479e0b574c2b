package cli

import (
	"strings"
)

// stmtKind tells what a statement from the splitter asks for.
type stmtKind int

const (
	kindSQL    stmtKind = iota // SQL to send to the server
	kindQuit                   // quit, exit, \q
	kindSource                 // source FILE, \. FILE: run the statements of a file
)

// statement is one unit of input: SQL to run or a client command.
type statement struct {
	Kind     stmtKind
	SQL      string // kindSQL: the text without its delimiter, trimmed
	Arg      string // kindSource: the file name
	Line     int    // line (1-based) of the statement's first character outside comments, as mariadb reports it
	Vertical bool   // ended with \G: print the rows vertically
}

// splitter cuts input into statements the way the mariadb client does. It is fed whole lines and keeps its
// state across them, so a prompt and a script use the same rules:
//
//   - a statement ends at the delimiter (';' unless changed by DELIMITER), at \g, or at \G (vertical output),
//     outside quotes ('...', "...", `...`) and comments (-- ..., # ..., /* ... */);
//   - at the start of a statement, the client commands quit, exit, \q, DELIMITER x (\d x), source FILE
//     (\. FILE) and USE db take the rest of the line and need no delimiter; \c clears the statement;
//   - with the ';' delimiter, the body of a stored program (CREATE PROCEDURE/FUNCTION/TRIGGER/EVENT ...
//     BEGIN ... END, BEGIN NOT ATOMIC ... END) is kept whole: its inner ';' do not end the statement. (mariadb
//     splits it there and relies on DELIMITER; rawmysql never runs a statement of a body at top level.)
//
// Each statement carries the line it starts on, for error messages ("ERROR 1146 (42S02) at line 3: ...").
type splitter struct {
	delim string // the statement delimiter; "" means ";"

	buf       strings.Builder
	line      int  // number of the line being fed (1-based)
	startLine int  // line of the first character of buf outside comments; 0: none yet
	quote     byte // the open quote character, or 0
	escape    bool // the previous byte was a backslash inside '...' or "..."
	comment   bool // inside a -- or # comment (until the end of the line)
	block     bool // inside a /* */ comment
	star      bool // the previous byte was '*' inside a block comment
	dashes    int  // '-' seen just before (1 or 2), deciding a "-- " comment
	slash     bool // the previous byte was '/', deciding a "/*" comment
	markLine  int  // line of a pending '-' or '/' that may start the statement

	// stored-program bodies (with the ';' delimiter only)
	word     strings.Builder // the word being read
	words    int             // words of the statement so far
	program  bool            // the statement creates a stored program (or is BEGIN NOT ATOMIC)
	blocks   []byte          // open BEGIN ('B') and CASE ('C') blocks
	afterEnd bool            // the last word was END: the next one says which block it closes
	first    string          // the statement's first word, upper case
	decided  bool            // whether the statement is a stored program is known
}

// Delimiter returns the current statement delimiter.
func (s *splitter) Delimiter() string {
	if s.delim == "" {
		return ";"
	}
	return s.delim
}

// Empty reports whether no statement is in progress (nothing but white space fed since the last one).
func (s *splitter) Empty() bool {
	return s.startLine == 0 && s.quote == 0 && !s.block
}

// Reset drops the statement in progress (Ctrl-C or \c at the prompt); the delimiter stays.
func (s *splitter) Reset() {
	d, line := s.delim, s.line
	*s = splitter{delim: d, line: line}
}

// FeedLine adds one line of input (without its line break) and returns the statements it completed.
func (s *splitter) FeedLine(text string) []statement {
	s.line++
	text = strings.TrimSuffix(text, "\r")
	var out []statement
	i := 0
	for i <= len(text) {
		if s.atStart() {
			if st, ok := s.command(text[i:]); ok {
				if st != nil {
					out = append(out, *st)
				}
				return out
			}
		}
		if i == len(text) {
			break
		}
		c := text[i]
		if s.inCode() {
			if d := s.Delimiter(); strings.HasPrefix(text[i:], d) {
				s.endWord()
				if s.afterEnd {
					s.afterEnd = false
					s.pop(0) // a plain END
				}
				if !s.inBody() {
					if st := s.finish(false); st != nil {
						out = append(out, *st)
					}
					i += len(d)
					continue
				}
			}
			if c == '\\' && i+1 < len(text) {
				switch text[i+1] {
				case 'G', 'g':
					s.endWord()
					if st := s.finish(text[i+1] == 'G'); st != nil {
						out = append(out, *st)
					}
					i += 2
					continue
				case 'c':
					s.Reset()
					i += 2
					continue
				}
			}
		}
		s.scan(c)
		s.buf.WriteByte(c)
		i++
	}
	// End of line: a line comment ends, a pending '-' or '/' was not a comment start.
	s.scan('\n')
	s.buf.WriteByte('\n')
	return out
}

// Rest returns the statement left without a delimiter at the end of the input, if any, and resets.
func (s *splitter) Rest() *statement {
	s.endWord()
	st := s.finish(false)
	s.Reset()
	return st
}

// atStart reports whether the next byte would be the first of a statement (client commands are recognised
// there).
func (s *splitter) atStart() bool {
	return s.startLine == 0 && s.inCode() && !s.slash && s.dashes == 0
}

// inCode reports whether the scanner is outside quotes and comments.
func (s *splitter) inCode() bool { return s.quote == 0 && !s.comment && !s.block }

// inBody reports whether the scanner is inside a stored program's BEGIN ... END.
func (s *splitter) inBody() bool { return s.program && len(s.blocks) > 0 }

// command recognises a client command at the start of a statement; rest is the remainder of the line. It
// returns ok=false when rest is not a command, and a nil statement for commands the splitter handles itself.
func (s *splitter) command(rest string) (*statement, bool) {
	t := strings.TrimLeft(rest, " \t")
	if t == "" {
		return nil, false
	}
	name, arg, _ := strings.Cut(t, " ")
	if i := strings.IndexByte(name, '\t'); i >= 0 {
		name, arg = name[:i], name[i+1:]+" "+arg
	}
	arg = strings.TrimSpace(arg)
	lower := strings.ToLower(name)
	d := s.Delimiter()
	switch {
	case lower == "quit" || lower == "exit" || lower == "quit"+d || lower == "exit"+d || lower == `\q`:
		if arg != "" && lower != `\q` && arg != d {
			return nil, false
		}
		return &statement{Kind: kindQuit, Line: s.line}, true
	case lower == "delimiter" || lower == `\d`:
		if arg == "" {
			return nil, false // mariadb: "DELIMITER must be followed by a 'delimiter' character or string"
		}
		if f := strings.Fields(arg); len(f) > 0 {
			arg = f[0]
		}
		if strings.Contains(arg, `\`) {
			return nil, false
		}
		if arg == ";" {
			arg = ""
		}
		s.delim = arg
		return nil, true
	case lower == "source" || lower == `\.`:
		if arg == "" {
			return nil, false
		}
		return &statement{Kind: kindSource, Arg: strings.TrimSpace(strings.TrimSuffix(arg, d)), Line: s.line}, true
	case lower == "use":
		db := strings.TrimSpace(strings.TrimSuffix(arg, d))
		if db == "" || strings.ContainsAny(db, " \t") && !strings.HasPrefix(db, "`") {
			return nil, false
		}
		return &statement{Kind: kindSQL, SQL: "USE " + db, Line: s.line}, true
	}
	return nil, false
}

// finish ends the statement in buf.
func (s *splitter) finish(vertical bool) *statement {
	text := strings.TrimSpace(s.buf.String())
	line := s.startLine
	d, l := s.delim, s.line
	*s = splitter{delim: d, line: l}
	if line == 0 || text == "" {
		return nil // only white space and comments
	}
	return &statement{Kind: kindSQL, SQL: text, Line: line, Vertical: vertical}
}

// mark records that the statement has started (a character outside comments) on line.
func (s *splitter) mark(line int) {
	if s.startLine == 0 {
		s.startLine = line
	}
}

// scan advances the quote/comment state over one byte (a '\n' ends the line).
func (s *splitter) scan(c byte) {
	switch {
	case s.comment:
		if c == '\n' {
			s.comment = false
		}
		return
	case s.block:
		if s.star && c == '/' {
			s.block = false
		}
		s.star = c == '*'
		return
	case s.quote != 0:
		switch {
		case s.escape:
			s.escape = false
		case c == '\\' && s.quote != '`':
			s.escape = true
		case c == s.quote:
			s.quote = 0
		}
		return
	}
	// Outside quotes and comments. First settle a pending '/' or '-'.
	if s.slash {
		s.slash = false
		if c == '*' {
			s.block, s.star = true, false
			return
		}
		s.mark(s.markLine)
	}
	if s.dashes == 2 {
		s.dashes = 0
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			s.comment = c != '\n'
			return
		}
		s.mark(s.markLine) // "--1" is minus minus one
	}
	if c == '-' && s.dashes == 1 {
		s.dashes = 2
		return
	}
	if s.dashes == 1 {
		s.dashes = 0
		s.mark(s.markLine)
	}
	switch {
	case c == '-':
		s.dashes, s.markLine = 1, s.line
		s.endWord()
	case c == '/':
		s.slash, s.markLine = true, s.line
		s.endWord()
	case c == '#':
		s.endWord()
		s.comment = true
	case c == '\'' || c == '"' || c == '`':
		s.endWord()
		s.mark(s.line)
		s.quote = c
	case c == ' ' || c == '\t' || c == '\n' || c == '\r':
		s.endWord()
	case isWordByte(c):
		s.mark(s.line)
		s.word.WriteByte(c)
	default:
		s.endWord()
		s.mark(s.line)
		if c == '(' {
			s.decided = true // a stored program's kind comes before its parameter list
		}
	}
}

func isWordByte(c byte) bool {
	return c == '_' || c == '$' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// endWord handles the word just read: it follows the stored-program blocks.
func (s *splitter) endWord() {
	if s.word.Len() == 0 {
		return
	}
	w := strings.ToUpper(s.word.String())
	s.word.Reset()
	s.words++
	if s.Delimiter() != ";" {
		return // the user delimits statements explicitly
	}
	if s.words == 1 {
		s.first = w
	}
	if !s.program {
		if s.decided {
			return
		}
		switch {
		case s.words == 2 && s.first == "BEGIN" && w == "NOT":
			s.program, s.blocks = true, []byte{'B'}
		case s.first != "CREATE" && !(s.first == "BEGIN" && s.words == 1), s.words > 12:
			s.decided = true
		}
		switch w {
		case "PROCEDURE", "FUNCTION", "TRIGGER", "EVENT":
			s.program = s.first == "CREATE"
			s.decided = true
		case "TABLE", "VIEW", "INDEX", "DATABASE", "SCHEMA", "USER", "ROLE", "SEQUENCE", "SERVER", "TABLESPACE":
			s.decided = true
		}
		return
	}
	if s.afterEnd {
		s.afterEnd = false
		switch w {
		case "IF", "LOOP", "WHILE", "REPEAT", "FOR":
			return // closes a block that is not counted
		case "CASE":
			s.pop('C')
			return
		}
		s.pop(0) // END label, or END followed by the next statement's word
	}
	switch w {
	case "BEGIN":
		s.blocks = append(s.blocks, 'B')
	case "CASE":
		s.blocks = append(s.blocks, 'C')
	case "END":
		if len(s.blocks) > 0 {
			s.afterEnd = true
		}
	}
}

// pop closes the innermost block (of kind k when not 0).
func (s *splitter) pop(k byte) {
	for i := len(s.blocks) - 1; i >= 0; i-- {
		if k == 0 || s.blocks[i] == k {
			s.blocks = s.blocks[:i]
			return
		}
	}
}

// splitScript cuts a whole script into statements (client commands included).
func splitScript(script string) []statement {
	var s splitter
	var out []statement
	lines := strings.Split(script, "\n")
	if n := len(lines); n > 0 && lines[n-1] == "" {
		lines = lines[:n-1]
	}
	for _, l := range lines {
		out = append(out, s.FeedLine(l)...)
	}
	if st := s.Rest(); st != nil {
		out = append(out, *st)
	}
	return out
}
