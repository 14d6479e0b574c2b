//go:build rawmysql_safe || purego

package rawmysql

import (
	"database/sql/driver"
	"time"
)

// The safe boxer, selected by the build tag rawmysql_safe (or purego): every value is boxed by the runtime, one
// allocation per value, with no unsafe (see box.go for the default one, which allocates once per boxChunk values).

// boxLayoutOK is false: this build never builds interfaces by hand.
const boxLayoutOK = false

// boxer boxes row values; this one has no state.
type boxer struct{}

// release is called when a result set ends.
func (b *boxer) release() {}

func (b *boxer) int64(v int64) driver.Value           { return v }
func (b *boxer) uint64(v uint64) driver.Value         { return v }
func (b *boxer) float64(v float64) driver.Value       { return v }
func (b *boxer) float32(v float32) driver.Value       { return v }
func (b *boxer) bytesAt(_ int, v []byte) driver.Value { return v }
func (b *boxer) time(v time.Time) driver.Value        { return v }
