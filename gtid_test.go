package rawmysql

import (
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGTIDWatermarkMariaDB(t *testing.T) {
	w := NewGTIDWatermark()
	assert.Equal(t, "", w.Position())
	require.NoError(t, w.Advance("0-1-5"))
	assert.Equal(t, "0-1-5", w.Position())
	g := w.generation()
	require.NoError(t, w.Advance("0-1-3")) // older: ignored
	require.NoError(t, w.Advance("0-2-5")) // same sequence: ignored
	assert.Equal(t, "0-1-5", w.Position())
	assert.Equal(t, g, w.generation(), "a GTID that does not move the position leaves the generation")
	require.NoError(t, w.Advance("2-7-10, 0-2-6"))
	assert.Equal(t, "0-2-6,2-7-10", w.Position(), "one GTID per domain, domains in order")
	assert.Equal(t, g+1, w.generation())
	require.NoError(t, w.Advance(""))

	for _, bad := range []string{"0-1", "a-1-2", "0-1-2-3", "1--2", "0-1-99999999999999999999", "-1-2"} {
		err := w.Advance(bad)
		require.Error(t, err, bad)
		assert.True(t, strings.HasPrefix(err.Error(), "rawmysql: "), err.Error())
	}
	assert.Equal(t, "0-2-6,2-7-10", w.Position())
}

func TestGTIDWatermarkMySQL(t *testing.T) {
	const a = "3e11fa47-71ca-11e1-9e33-c80aa9429562"
	const b = "4e11fa47-71ca-11e1-9e33-c80aa9429562"
	w := NewGTIDWatermark()
	require.NoError(t, w.Advance(a+":23"))
	assert.Equal(t, a+":1-23", w.Position(), "every transaction of the source up to the one written")
	require.NoError(t, w.Advance(a+":5"))
	assert.Equal(t, a+":1-23", w.Position())
	require.NoError(t, w.Advance(strings.ToUpper(b)+":1-3:7-9,"+a+":24"))
	assert.Equal(t, a+":1-24,"+b+":1-9", w.Position())
	// MySQL 8.3+ tagged GTIDs: the tag's own numbering.
	require.NoError(t, w.Advance(a+":Batch_1:4"))
	assert.Equal(t, a+":1-24,"+a+":batch_1:1-4,"+b+":1-9", w.Position())
	_, _, mixed := w.snapshot()
	assert.False(t, mixed)

	for _, bad := range []string{a, a + ":", a + ":0", a + ":5-3", a + ":x'y:1", "nope:1", a[:35] + ":1", a + ":1-", a + ":tag"} {
		require.Error(t, w.Advance(bad), bad)
	}

	require.NoError(t, w.Advance("0-1-1"))
	_, _, mixed = w.snapshot()
	assert.True(t, mixed, "MariaDB and MySQL GTIDs in one watermark")
}

func TestGTIDWatermarkConcurrent(t *testing.T) {
	w := NewGTIDWatermark()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1; i <= 200; i++ {
				_ = w.Advance("0-1-" + strconv.Itoa(i*8+g))
				_ = w.Position()
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, "0-1-"+strconv.Itoa(200*8+7), w.Position())
}

func TestGTIDDSNParams(t *testing.T) {
	cfg, err := ParseDSN("u@tcp(h:3306)/d?trackGTID=true&causalReads=1&causalWaitTimeout=250ms&gtidWatermark=shop")
	require.NoError(t, err)
	assert.True(t, cfg.TrackGTID)
	assert.True(t, cfg.CausalReads)
	assert.Equal(t, 250*time.Millisecond, cfg.CausalWaitTimeout)
	require.NotNil(t, cfg.GTIDWatermark)
	assert.Same(t, NamedGTIDWatermark("shop"), cfg.GTIDWatermark)
	assert.Equal(t, "shop", cfg.GTIDWatermark.Name())
	assert.Empty(t, cfg.Params, "no GTID parameter is sent to the server as a variable")

	dsn := cfg.FormatDSN()
	assert.Contains(t, dsn, "causalReads=true")
	assert.Contains(t, dsn, "causalWaitTimeout=250ms")
	assert.Contains(t, dsn, "gtidWatermark=shop")
	assert.Contains(t, dsn, "trackGTID=true")
	again, err := ParseDSN(dsn)
	require.NoError(t, err)
	assert.Equal(t, cfg, again)

	// Two pools opened from DSNs naming the same watermark share it.
	other, err := ParseDSN("u@tcp(replica:3306)/d?causalReads=true&gtidWatermark=shop")
	require.NoError(t, err)
	assert.Same(t, cfg.GTIDWatermark, other.GTIDWatermark)

	// Defaults: all off and not written.
	def, err := ParseDSN("u@tcp(h:3306)/d")
	require.NoError(t, err)
	assert.False(t, def.TrackGTID || def.CausalReads)
	assert.Nil(t, def.GTIDWatermark)
	assert.Equal(t, "u@tcp(h:3306)/d", def.FormatDSN())

	for _, bad := range []string{"trackGTID=maybe", "causalReads=2", "causalWaitTimeout=-1s", "causalWaitTimeout=soon"} {
		_, err := ParseDSN("u@tcp(h:3306)/d?" + bad)
		require.Error(t, err, bad)
	}

	// A Connector without Config.GTIDWatermark has its own; one with it uses it.
	c1, err := NewConnector(def)
	require.NoError(t, err)
	c2, err := NewConnector(def)
	require.NoError(t, err)
	assert.NotSame(t, c1.GTIDWatermark(), c2.GTIDWatermark())
	c3, err := NewConnector(cfg)
	require.NoError(t, err)
	assert.Same(t, cfg.GTIDWatermark, c3.GTIDWatermark())
	assert.Equal(t, "", c1.LastGTID())
}

func TestMariaDBWaitQuery(t *testing.T) {
	q := mariaDBWaitQuery("0-1-5,2-3-9", "1.500")
	assert.True(t, strings.HasPrefix(q, "SELECT IF("), q)
	assert.Contains(t, q, "',0-[0-9]+-[0-9]+'")
	assert.Contains(t, q, ">= 5 AND ")
	assert.Contains(t, q, "',2-[0-9]+-[0-9]+'")
	assert.Contains(t, q, ">= 9, 0, MASTER_GTID_WAIT('0-1-5,2-3-9', 1.500))")
}
