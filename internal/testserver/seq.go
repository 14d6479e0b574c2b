package testserver

import (
	"fmt"
	"strings"
)

// SeqTable returns a derived table (to be given an alias) of the integers 1..n in a column seq, in no
// particular order, for any server: MariaDB's seq_1_to_N tables need its Sequence engine, and MySQL stops
// recursive CTEs after 1000 rows by default.
func SeqTable(n int) string {
	digits := "(SELECT 0 AS i UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 " +
		"UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)"
	var expr, from []string
	for p, i := 1, 0; p < n; p, i = p*10, i+1 {
		expr = append(expr, fmt.Sprintf("%d*d%d.i", p, i))
		from = append(from, fmt.Sprintf("%s d%d", digits, i))
	}
	if len(from) == 0 {
		return "(SELECT 1 AS seq)"
	}
	sum := strings.Join(expr, " + ") + " + 1"
	return fmt.Sprintf("(SELECT %s AS seq FROM %s WHERE %s <= %d)", sum, strings.Join(from, " CROSS JOIN "), sum, n)
}
