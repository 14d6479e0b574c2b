package rawmysql

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestREADMEDSNTable checks that the README's DSN table has a row for every parameter of dsnParams, and that
// the defaults it gives for boolean and integer parameters are those of NewConfig.
func TestREADMEDSNTable(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	rows := map[string]string{} // parameter → default cell
	for _, m := range regexp.MustCompile("(?m)^\\| `([A-Za-z-]+)` \\| ([^|]*) \\|").FindAllStringSubmatch(string(readme), -1) {
		rows[m[1]] = strings.TrimSpace(m[2])
	}
	def := NewConfig()
	for key, p := range dsnParams {
		cell, ok := rows[key]
		if !assert.True(t, ok, "README.md: no row for DSN parameter %s", key) {
			continue
		}
		v, _ := p.format(def)
		switch v {
		case "true", "false":
			assert.Equal(t, "`"+v+"`", cell, "README.md: default of %s", key)
		default:
			if regexp.MustCompile(`^\d+$`).MatchString(v) {
				assert.True(t, strings.HasPrefix(cell, "`"+v+"`"), "README.md: default of %s is %s, README says %s", key, v, cell)
			}
		}
	}
	for key := range rows {
		_, known := dsnParams[key]
		assert.True(t, known, "README.md documents %s, which ParseDSN does not know", key)
	}
}
