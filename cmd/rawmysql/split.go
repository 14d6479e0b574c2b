package main

import "strings"

// splitter accumulates input and cuts it into statements at ';' outside quotes ('...', "...", `...`) and
// comments (-- ..., # ..., /* ... */). It keeps its state across Feed calls, so an interactive prompt can feed
// it line by line.
type splitter struct {
	buf strings.Builder
	// state of the scanner at the end of buf
	quote   byte // the open quote character, or 0
	escape  bool // the previous byte was a backslash inside '...' or "..."
	line    bool // inside a -- or # comment
	block   bool // inside a /* */ comment
	pending byte // '-', '/' or '*' seen as the last byte, deciding a comment start or end with the next one
}

// Feed adds text and returns the statements it completed (trimmed, without the ';', empty ones dropped).
func (s *splitter) Feed(text string) []string {
	var out []string
	for i := 0; i < len(text); i++ {
		c := text[i]
		prev := s.pending
		s.pending = 0
		switch {
		case s.line:
			if c == '\n' {
				s.line = false
			}
		case s.block:
			if prev == '*' && c == '/' {
				s.block = false
			} else if c == '*' {
				s.pending = '*'
			}
		case s.quote != 0:
			switch {
			case s.escape:
				s.escape = false
			case c == '\\' && s.quote != '`':
				s.escape = true
			case c == s.quote:
				s.quote = 0
			}
		default:
			switch {
			case prev == '-' && c == '-':
				s.line = true
			case prev == '/' && c == '*':
				s.block = true
			case c == '#':
				s.line = true
			case c == '\'' || c == '"' || c == '`':
				s.quote = c
			case c == '-' || c == '/':
				s.pending = c
			case c == ';':
				if stmt := strings.TrimSpace(s.buf.String()); stmt != "" {
					out = append(out, stmt)
				}
				s.buf.Reset()
				continue
			}
		}
		s.buf.WriteByte(c)
	}
	return out
}

// Rest returns what is left after the last ';' (a final statement without a terminator) and resets.
func (s *splitter) Rest() string {
	rest := strings.TrimSpace(s.buf.String())
	*s = splitter{}
	if onlyComments(rest) {
		return ""
	}
	return rest
}

// Empty reports whether nothing but white space is pending.
func (s *splitter) Empty() bool { return strings.TrimSpace(s.buf.String()) == "" }

// splitStatements cuts a whole script into statements.
func splitStatements(script string) []string {
	var s splitter
	out := s.Feed(script)
	if rest := s.Rest(); rest != "" {
		out = append(out, rest)
	}
	return out
}

// onlyComments reports whether a statement holds nothing but comments and white space.
func onlyComments(stmt string) bool {
	var b strings.Builder // the bytes outside comments
	var t splitter
	for i := 0; i < len(stmt); i++ {
		inComment := t.line || t.block
		t.Feed(stmt[i : i+1])
		if !inComment && !t.line && !t.block && t.pending == 0 {
			b.WriteByte(stmt[i])
		}
	}
	return strings.TrimSpace(b.String()) == ""
}
