package cli

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sqls returns the SQL of the statements and their lines.
func sqls(stmts []statement) ([]string, []int) {
	var out []string
	var lines []int
	for _, s := range stmts {
		switch s.Kind {
		case kindSQL:
			q := s.SQL
			if s.Vertical {
				q += `\G`
			}
			out = append(out, q)
		case kindQuit:
			out = append(out, "<quit>")
		case kindSource:
			out = append(out, "<source "+s.Arg+">")
		}
		lines = append(lines, s.Line)
	}
	return out, lines
}

func TestSplitScript(t *testing.T) {
	tests := []struct {
		in    string
		want  []string
		lines []int
	}{
		{"SELECT 1", []string{"SELECT 1"}, []int{1}},
		{"SELECT 1; SELECT 2;", []string{"SELECT 1", "SELECT 2"}, []int{1, 1}},
		{" ;; SELECT 1 ;\n", []string{"SELECT 1"}, []int{1}},
		{`SELECT 'a;b', "c;d", ` + "`e;f`" + `; SELECT 2`, []string{`SELECT 'a;b', "c;d", ` + "`e;f`", "SELECT 2"}, []int{1, 1}},
		{`SELECT 'it\'s;' ; SELECT 'x'';y'`, []string{`SELECT 'it\'s;'`, `SELECT 'x'';y'`}, []int{1, 1}},
		{"SELECT 1 -- a comment; still comment\n; SELECT 2", []string{"SELECT 1 -- a comment; still comment", "SELECT 2"}, []int{1, 2}},
		{"SELECT 1 # hash; comment\n;", []string{"SELECT 1 # hash; comment"}, []int{1}},
		{"SELECT /* ; */ 1; SELECT 2", []string{"SELECT /* ; */ 1", "SELECT 2"}, []int{1, 1}},
		{"SELECT 1-1; SELECT 4/2", []string{"SELECT 1-1", "SELECT 4/2"}, []int{1, 1}},
		{"SELECT 1--1; SELECT 2", []string{"SELECT 1--1", "SELECT 2"}, []int{1, 1}}, // "--" without a space is minus minus
		{"SELECT 1; -- trailing comment", []string{"SELECT 1"}, []int{1}},
		{"SELECT 1; /* only a comment */", []string{"SELECT 1"}, []int{1}},
		{"", nil, nil},
		// Line numbers are those of the first character outside comments, as mariadb reports them.
		{"-- comment\n\nSELECT * FROM a;\nSELECT 1; SELECT * FROM\nb;\n/* c */ SELECT 3;",
			[]string{"-- comment\n\nSELECT * FROM a", "SELECT 1", "SELECT * FROM\nb", "/* c */ SELECT 3"}, []int{3, 4, 4, 6}},
		{"/* a\nb */\n  -- c\n  SELECT 1;", []string{"/* a\nb */\n  -- c\n  SELECT 1"}, []int{4}},
		{"SELECT 'a\nb\nc', 1;\nSELECT 2", []string{"SELECT 'a\nb\nc', 1", "SELECT 2"}, []int{1, 4}},
		// \G and \g end a statement; \c drops it.
		{`SELECT 1\G SELECT 2\g SELECT 3`, []string{`SELECT 1\G`, "SELECT 2", "SELECT 3"}, []int{1, 1, 1}},
		{"SELECT 1 \\c\nSELECT 2;", []string{"SELECT 2"}, []int{2}},
		{`SELECT '\G';`, []string{`SELECT '\G'`}, []int{1}},
		// DELIMITER.
		{"DELIMITER //\nSELECT 1; SELECT 2 //\nSELECT 3 //\ndelimiter ;\nSELECT 4;",
			[]string{"SELECT 1; SELECT 2", "SELECT 3", "SELECT 4"}, []int{2, 3, 5}},
		{"DELIMITER $$\nCREATE PROCEDURE p() BEGIN SELECT 1; END$$\nDELIMITER ;\nCALL p();",
			[]string{"CREATE PROCEDURE p() BEGIN SELECT 1; END", "CALL p()"}, []int{2, 4}},
		{"\\d //\nSELECT 1 //", []string{"SELECT 1"}, []int{2}},
		{"DELIMITER //\nSELECT '//' //", []string{"SELECT '//'"}, []int{2}},
		// Client commands at the start of a statement take the rest of the line.
		{"SELECT 1; quit\nSELECT 2;", []string{"SELECT 1", "<quit>", "SELECT 2"}, []int{1, 1, 2}},
		{"exit;", []string{"<quit>"}, []int{1}},
		{"  \\q", []string{"<quit>"}, []int{1}},
		{"source /tmp/x.sql\n\\. y.sql;\nSELECT 1;", []string{"<source /tmp/x.sql>", "<source y.sql>", "SELECT 1"}, []int{1, 2, 3}},
		{"use test\nSELECT 1;", []string{"USE test", "SELECT 1"}, []int{1, 2}},
		{"SELECT quit;", []string{"SELECT quit"}, []int{1}},
		{"SELECT 1,\nquit;", []string{"SELECT 1,\nquit"}, []int{1}}, // inside a statement it is a column name
		{"sourcex;", []string{"sourcex"}, []int{1}},
	}
	for _, tt := range tests {
		got, lines := sqls(splitScript(tt.in))
		assert.Equal(t, tt.want, got, "%q", tt.in)
		assert.Equal(t, tt.lines, lines, "lines of %q", tt.in)
	}
}

// TestSplitStoredPrograms: with the ';' delimiter the body of a stored program is one statement, so that -force
// can never run a statement of the body at top level.
func TestSplitStoredPrograms(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END; CALL p();",
			[]string{"CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END", "CALL p()"}},
		{"CREATE DEFINER=`root`@`%` PROCEDURE p(IN a INT)\nBEGIN\n  IF a > 0 THEN\n    SELECT 'pos';\n  ELSE\n    SELECT CASE WHEN a = 0 THEN 'zero' ELSE 'neg' END;\n  END IF;\n  lbl: LOOP\n    LEAVE lbl;\n  END LOOP lbl;\n  CASE a WHEN 1 THEN SELECT 1; ELSE BEGIN END; END CASE;\nEND;\nSELECT 9;",
			[]string{"CREATE DEFINER=`root`@`%` PROCEDURE p(IN a INT)\nBEGIN\n  IF a > 0 THEN\n    SELECT 'pos';\n  ELSE\n    SELECT CASE WHEN a = 0 THEN 'zero' ELSE 'neg' END;\n  END IF;\n  lbl: LOOP\n    LEAVE lbl;\n  END LOOP lbl;\n  CASE a WHEN 1 THEN SELECT 1; ELSE BEGIN END; END CASE;\nEND", "SELECT 9"}},
		{"CREATE OR REPLACE FUNCTION f() RETURNS INT DETERMINISTIC BEGIN DECLARE x INT; SET x = 1; RETURN x; END; SELECT f();",
			[]string{"CREATE OR REPLACE FUNCTION f() RETURNS INT DETERMINISTIC BEGIN DECLARE x INT; SET x = 1; RETURN x; END", "SELECT f()"}},
		{"CREATE FUNCTION g() RETURNS INT RETURN 1; SELECT g();", []string{"CREATE FUNCTION g() RETURNS INT RETURN 1", "SELECT g()"}},
		{"CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW BEGIN SET NEW.a = 1; SET NEW.b = 2; END;\nINSERT INTO t VALUES (1);",
			[]string{"CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW BEGIN SET NEW.a = 1; SET NEW.b = 2; END", "INSERT INTO t VALUES (1)"}},
		{"CREATE EVENT e ON SCHEDULE EVERY 1 HOUR DO BEGIN DELETE FROM t; END; SELECT 1;",
			[]string{"CREATE EVENT e ON SCHEDULE EVERY 1 HOUR DO BEGIN DELETE FROM t; END", "SELECT 1"}},
		{"BEGIN NOT ATOMIC SELECT 1; SELECT 2; END; SELECT 3;", []string{"BEGIN NOT ATOMIC SELECT 1; SELECT 2; END", "SELECT 3"}},
		// Not stored programs: BEGIN (a transaction), column names that are keywords, a string holding BEGIN.
		{"BEGIN; SELECT 1; COMMIT;", []string{"BEGIN", "SELECT 1", "COMMIT"}},
		{"CREATE TABLE t (event INT, `begin` INT); SELECT 1;", []string{"CREATE TABLE t (event INT, `begin` INT)", "SELECT 1"}},
		{"CREATE TABLE procedure_log (a INT); SELECT 'BEGIN';", []string{"CREATE TABLE procedure_log (a INT)", "SELECT 'BEGIN'"}},
		{"CREATE PROCEDURE p() SELECT 'BEGIN'; SELECT 2;", []string{"CREATE PROCEDURE p() SELECT 'BEGIN'", "SELECT 2"}},
		{"CREATE PROCEDURE p() BEGIN /* END; */ SELECT 1; -- END;\nEND; SELECT 2;",
			[]string{"CREATE PROCEDURE p() BEGIN /* END; */ SELECT 1; -- END;\nEND", "SELECT 2"}},
	}
	for _, tt := range tests {
		got, _ := sqls(splitScript(tt.in))
		assert.Equal(t, tt.want, got, "%q", tt.in)
	}
}

// TestSplitterFedLineByLine is the prompt's use: the state carries over lines, Empty decides the prompt, Reset
// (Ctrl-C) drops the statement but keeps the delimiter.
func TestSplitterFedLineByLine(t *testing.T) {
	var s splitter
	assert.True(t, s.Empty())
	assert.Empty(t, s.FeedLine("SELECT 'a"))
	assert.False(t, s.Empty())
	got, lines := sqls(s.FeedLine(";';"))
	assert.Equal(t, []string{"SELECT 'a\n;'"}, got)
	assert.Equal(t, []int{1}, lines)
	assert.True(t, s.Empty())

	assert.Empty(t, s.FeedLine("-- a comment only"))
	assert.True(t, s.Empty(), "a comment is not a statement in progress")

	assert.Empty(t, s.FeedLine("DELIMITER //"))
	assert.Equal(t, "//", s.Delimiter())
	assert.Empty(t, s.FeedLine("SELECT 1;"))
	s.Reset()
	assert.True(t, s.Empty())
	assert.Equal(t, "//", s.Delimiter(), "Reset keeps the delimiter")
	got, lines = sqls(s.FeedLine("SELECT 2 //"))
	assert.Equal(t, []string{"SELECT 2"}, got)
	assert.Equal(t, []int{6}, lines)
	require.Nil(t, s.Rest())
}
