package rawmysql

import (
	"math/rand"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// parseInt (with its unchecked fast path for up to 18 characters) agrees with strconv.ParseInt on every
// input: integers of every length around the int64 limits, and malformed ones.
func TestParseIntMatchesStrconv(t *testing.T) {
	in := []string{"", "-", "+1", "0", "-0", "7", "-7", "00012", "1a", "a1", " 1", "1 ", "1.0", "--1",
		"999999999999999999", "-999999999999999999", "1000000000000000000", "9223372036854775807",
		"9223372036854775808", "-9223372036854775808", "-9223372036854775809", "18446744073709551616",
		"123456789012345678", "12345678901234567:", "/23"}
	rng := rand.New(rand.NewSource(2))
	for i := 0; i < 100000; i++ {
		n := rng.Int63() >> uint(rng.Intn(63))
		if i%2 == 1 {
			n = -n
		}
		in = append(in, strconv.FormatInt(n, 10))
	}
	for _, s := range in {
		want, err := strconv.ParseInt(s, 10, 64)
		wantOK := err == nil && s != "" && s[0] != '+'
		got, ok := parseInt([]byte(s))
		require.Equal(t, wantOK, ok, "%q", s)
		if ok {
			require.Equal(t, want, got, "%q", s)
		}
	}
}
