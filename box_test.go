package rawmysql

import (
	"database/sql/driver"
	"math"
	"math/rand"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Values handed out by a boxer keep their value and type while later values fill the same and following
// chunks, and survive garbage collections.
func TestBoxerValuesStayIntact(t *testing.T) {
	var bx boxer
	const n = 5*128 + 3 // several chunks of the default boxer
	vals := make([]driver.Value, 0, 5*n)
	for i := 0; i < n; i++ {
		vals = append(vals,
			bx.int64(int64(i)*1_000_003-7),
			bx.uint64(math.MaxUint64-uint64(i)),
			bx.float64(float64(i)+0.5),
			bx.bytes([]byte(strconv.Itoa(i))),
			bx.time(time.Unix(int64(i), 0).UTC()))
		if i%128 == 0 {
			bx.release()
		}
	}
	for round := 0; round < 2; round++ {
		for i := 0; i < n; i++ {
			v := vals[5*i : 5*i+5]
			require.Equal(t, int64(i)*1_000_003-7, v[0], "int64 %d", i)
			require.Equal(t, uint64(math.MaxUint64-uint64(i)), v[1], "uint64 %d", i)
			require.Equal(t, float64(i)+0.5, v[2], "float64 %d", i)
			require.Equal(t, []byte(strconv.Itoa(i)), v[3], "bytes %d", i)
			require.Equal(t, time.Unix(int64(i), 0).UTC(), v[4], "time %d", i)
		}
		bx = boxer{}
		runtimeGC()
	}
}

// parseFloatExact agrees bit for bit with strconv.ParseFloat on every input it accepts, and accepts the
// usual DOUBLE text forms.
func TestParseFloatExact(t *testing.T) {
	accept := []string{"0", "-0", "1", "1.5", "-2.25", "123456789012345", "0.000000000000001", "99999.99999",
		"3.141592653589", "1000000", "0.1", "0.3", "-0.7"}
	reject := []string{"", "-", "1e10", "1.", ".5", "1..2", "1234567890123456", "12345678901234567",
		"inf", "NaN", "1.2.3", "+1", " 1", "0.12345678901234567"}
	for _, s := range accept {
		f, ok := parseFloatExact([]byte(s))
		require.True(t, ok, s)
		want, err := strconv.ParseFloat(s, 64)
		require.NoError(t, err)
		assert.Equal(t, math.Float64bits(want), math.Float64bits(f), s)
	}
	for _, s := range reject {
		_, ok := parseFloatExact([]byte(s))
		assert.False(t, ok, s)
	}
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 200000; i++ {
		var s string
		switch i % 3 {
		case 0:
			s = strconv.FormatFloat(rng.NormFloat64()*math.Pow(10, float64(rng.Intn(12))), 'f', -1, 64)
		case 1:
			s = strconv.FormatFloat(rng.Float64()*1e6, 'f', rng.Intn(10), 64)
		default:
			s = strconv.FormatInt(rng.Int63n(1e15), 10)
			if p := rng.Intn(len(s)); p > 0 {
				s = s[:p] + "." + s[p:]
			}
		}
		f, ok := parseFloatExact([]byte(s))
		if !ok {
			continue
		}
		want, err := strconv.ParseFloat(s, 64)
		require.NoError(t, err, s)
		require.Equal(t, math.Float64bits(want), math.Float64bits(f), s)
	}
}

func FuzzParseFloatExact(f *testing.F) {
	for _, s := range []string{"0", "-1.5", "123.456", "1e5", "0.000001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseFloatExact([]byte(s))
		if !ok {
			return
		}
		want, err := strconv.ParseFloat(s, 64)
		if err != nil || math.Float64bits(want) != math.Float64bits(got) {
			t.Fatalf("parseFloatExact(%q) = %v, ParseFloat = %v, %v", s, got, want, err)
		}
	})
}

func runtimeGC() { runtime.GC() }
