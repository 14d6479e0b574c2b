package rawmysql

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestIsLoadDataLocal(t *testing.T) {
	for q, want := range map[string]bool{
		"LOAD DATA LOCAL INFILE 'x' INTO TABLE t":                  true,
		"load data low_priority local infile 'x' into table t":     true,
		"LOAD XML LOCAL INFILE 'x.xml' INTO TABLE t":               true,
		"LOAD DATA INFILE '/var/lib/x' INTO TABLE t":               false,
		"SELECT 'LOAD DATA LOCAL'":                                 false,
		"  LOAD   DATA\n CONCURRENT LOCAL INFILE 'x' INTO TABLE t": true,
	} {
		assert.Equal(t, want, isLoadDataLocal(q), q)
	}
}
