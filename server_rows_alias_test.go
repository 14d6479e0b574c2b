package rawmysql

import (
	"database/sql"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// seqQuery returns rows n = 1..count (count ≤ 1_000_000) with columns derived from n, built without tables,
// ordered by n when ordered is set (sorting a million rows would take a temporary file on the server).
func seqQuery(count int, cols string, ordered bool) string {
	q := fmt.Sprintf(`WITH RECURSIVE d(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM d WHERE i < 999)
SELECT %s FROM (SELECT a.i * 1000 + b.i + 1 AS n FROM d a CROSS JOIN d b) s WHERE n <= %d`, cols, count)
	if ordered {
		q += " ORDER BY n"
	}
	return q
}

// keeper is a sql.Scanner that keeps what it is given: the value itself, or a copy of []byte as the
// sql.Scanner contract asks.
type keeper struct{ v any }

func (k *keeper) Scan(src any) error {
	if b, ok := src.([]byte); ok {
		k.v = append([]byte(nil), b...)
		return nil
	}
	k.v = src
	return nil
}

// Values scanned from earlier rows must not change while later rows are read: into *any, *[]byte, *string
// and sql.Scanners, over the text protocol (no arguments) and the binary protocol (with an argument), with and
// without parseTime, across many rows (so boxed values fill several chunks).
func TestScannedValuesStayIntactAcrossRows(t *testing.T) {
	const count = 1000
	cols := "n, n * 1000003, n + 0.5e0, CONCAT('s', n), CAST(CONCAT('b', n) AS BINARY), " +
		"TIMESTAMP('2024-01-01') + INTERVAL n SECOND, IF(n % 7 = 0, NULL, n)"
	type kept struct {
		anyInt, anyBig, anyFloat, anyBytes, anyTime, anyNull any
		bytes                                                []byte
		str                                                  string
		kInt, kFloat, kBytes, kTime                          keeper
	}
	for _, tc := range []struct {
		name, params string
		args         []any
	}{
		{"text", "", nil},
		{"binary", "", []any{0}},
		{"text parseTime", "parseTime=true", nil},
		{"binary parseTime", "parseTime=true", []any{0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := openDB(t, tc.params)
			q := seqQuery(count, cols, true)
			if tc.args != nil {
				q += " LIMIT 1000000 OFFSET ?"
			}
			rows, err := db.Query(q, tc.args...)
			require.NoError(t, err)
			defer rows.Close()
			var got []kept
			for rows.Next() {
				var k kept
				require.NoError(t, rows.Scan(&k.anyInt, &k.anyBig, &k.anyFloat, &k.str, &k.bytes, &k.anyTime, &k.anyNull))
				got = append(got, k)
			}
			require.NoError(t, rows.Err())
			require.Len(t, got, count)
			// A second pass with scanners and *any of []byte (cloned by database/sql), kept across rows.
			rows2, err := db.Query(q, tc.args...)
			require.NoError(t, err)
			defer rows2.Close()
			i := 0
			for rows2.Next() {
				k := &got[i]
				var s string
				var raw sql.RawBytes
				require.NoError(t, rows2.Scan(&k.kInt, &k.kBytes, &k.kFloat, &s, &k.anyBytes, &k.kTime, &raw))
				i++
			}
			require.NoError(t, rows2.Err())
			runtime.GC()
			for i := range got {
				n := int64(i + 1)
				k := &got[i]
				require.Equal(t, n, k.anyInt, "row %d", n)
				require.Equal(t, n*1000003, k.anyBig, "row %d", n)
				require.Equal(t, float64(n)+0.5, k.anyFloat, "row %d", n)
				require.Equal(t, fmt.Sprintf("s%d", n), k.str, "row %d", n)
				require.Equal(t, []byte(fmt.Sprintf("b%d", n)), k.bytes, "row %d", n)
				require.Equal(t, []byte(fmt.Sprintf("b%d", n)), k.anyBytes, "row %d", n)
				ts := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Second)
				if tc.params == "" {
					require.Equal(t, []byte(ts.Format(time.DateTime)), k.anyTime, "row %d", n)
					require.Equal(t, []byte(ts.Format(time.DateTime)), k.kTime.v, "row %d", n)
				} else {
					require.Equal(t, ts, k.anyTime, "row %d", n)
					require.Equal(t, ts, k.kTime.v, "row %d", n)
				}
				if n%7 == 0 {
					require.Nil(t, k.anyNull, "row %d", n)
				} else {
					require.Equal(t, n, k.anyNull, "row %d", n)
				}
				require.Equal(t, n, k.kInt.v, "row %d", n)
				require.Equal(t, float64(n)*1000003, toFloat(k.kBytes.v), "row %d", n)
				require.Equal(t, float64(n)+0.5, k.kFloat.v, "row %d", n)
			}
		})
	}
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case float64:
		return x
	}
	return -1
}

// Scanning a million rows keeps the Go heap small: row values alias the read buffer and boxed values are
// garbage once the next row is read.
func TestScanMillionRowsHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("scans 1M rows")
	}
	db := openDB(t, "")
	const count = 1_000_000
	rows, err := db.Query(seqQuery(count, "n, n * 7, n + 0.25e0, CONCAT('name-', n), REPEAT('x', n % 50), "+
		"TIMESTAMP('2024-01-01') + INTERVAL n SECOND", false))
	require.NoError(t, err)
	defer rows.Close()
	var (
		id, n   int64
		f       float64
		s       string
		b       []byte
		ts      sql.RawBytes
		maxHeap uint64
		ms      runtime.MemStats
		seen    int
		sum     int64
	)
	runtime.GC()
	for rows.Next() {
		if err := rows.Scan(&id, &n, &f, &s, &b, &ts); err != nil || n != id*7 {
			t.Fatalf("row %d: %v (n = %d)", seen, err, n)
		}
		sum += id
		seen++
		if seen%20000 == 0 {
			runtime.ReadMemStats(&ms)
			maxHeap = max(maxHeap, ms.HeapAlloc)
		}
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, count, seen)
	assert.Equal(t, int64(count)*(count+1)/2, sum)
	t.Logf("largest heap seen while scanning %d rows: %.1f MiB", count, float64(maxHeap)/(1<<20))
	assert.Less(t, maxHeap, uint64(16<<20), "heap while scanning")
}
