// Package scenario runs one scenario suite — schema migration, CRUD, transactions, NULLs, time values, batch
// inserts, joins — through database/sql, sqlx and GORM, with rawmysql and with github.com/go-sql-driver/mysql,
// against MariaDB (internal/testserver: RAWMYSQL_TEST_DSN, a private mariadbd, or Docker) and against the
// embedded go-mysql-server. Every scenario returns what it observed as text; the two drivers must observe the
// same on the same server and API, except for the differences listed in knownDifferences (and in the README).
package scenario

import (
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rawmysql/rawmysql/cmd/rawmysql/demo/embedded"
	"github.com/rawmysql/rawmysql/internal/testserver"
	"github.com/stretchr/testify/require"
)

// TestMain shares one MariaDB server between the tests and stops it at the end. The embedded server is
// shared too (started once by the first test that needs it) and lives as long as the test binary: closing it
// in one test's cleanup would leave the later tests without it.
func TestMain(m *testing.M) { testserver.Main(m) }

// drivers are compared on every scenario; the first one is rawmysql.
var drivers = []string{"rawmysql", "mysql"}

// env is what a scenario gets: an open *sql.DB and a prefix for its table names.
type env struct {
	db     *sql.DB
	prefix string // unique per driver and API, so runs on a shared database do not collide
	server string // "mariadb" or "gms"
	driver string
}

// table names a table of the scenario.
func (e *env) table(name string) string { return e.prefix + name }

// scenario is one step of the suite. It fails the test on errors and returns its observations (values read
// back, counts, column metadata) for the comparison between drivers.
type scenario struct {
	name string
	run  func(t *testing.T, e *env) []string
}

// apis are the three ways the suite is run.
var apis = []struct {
	name      string
	scenarios []scenario
}{
	{"database_sql", sqlScenarios},
	{"sqlx", sqlxScenarios},
	{"gorm", gormScenarios},
}

// server is a database the suite runs on.
type server struct {
	name string
	dsn  func(t *testing.T) string // go-sql-driver DSN grammar, with parseTime=true
}

var servers = []server{
	{"mariadb", func(t *testing.T) string {
		return testserver.Get(t).DSN("parseTime=true")
	}},
	{"gms", func(t *testing.T) string {
		gmsOnce.Do(func() { gmsServer, gmsErr = embedded.Start("compat") })
		require.NoError(t, gmsErr)
		return gmsServer.DSN("parseTime=true")
	}},
}

var (
	gmsOnce   sync.Once
	gmsServer *embedded.Server
	gmsErr    error
)

// knownDifferences are observations in which rawmysql differs from go-sql-driver/mysql on purpose, keyed
// "server/api/scenario/observation key"; each is documented in the README's migration guide.
var knownDifferences = map[string]string{}

// seenDifferences are the knownDifferences met by this run.
var seenDifferences = map[string]bool{}

func TestScenarios(t *testing.T) {
	ran := map[string]bool{}
	defer func() {
		// A listed difference that no longer shows is stale: the README must change with it.
		for key := range knownDifferences {
			if ran[strings.Split(key, "/")[0]] && !seenDifferences[key] && !t.Failed() {
				t.Errorf("known difference %s did not show: remove it (and its README line)", key)
			}
		}
	}()
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			dsn := srv.dsn(t)
			ran[srv.name] = true
			for _, api := range apis {
				t.Run(api.name, func(t *testing.T) {
					obs := map[string]map[string][]string{} // scenario → driver → observations
					for _, drv := range drivers {
						db, err := sql.Open(drv, dsn)
						require.NoError(t, err)
						db.SetMaxOpenConns(4)
						db.SetConnMaxLifetime(time.Minute)
						e := &env{db: db, prefix: fmt.Sprintf("sc_%s_%s_", api.name, drv), server: srv.name, driver: drv}
						for _, sc := range api.scenarios {
							t.Run(drv+"/"+sc.name, func(t *testing.T) {
								if obs[sc.name] == nil {
									obs[sc.name] = map[string][]string{}
								}
								obs[sc.name][drv] = sc.run(t, e)
							})
						}
						require.NoError(t, db.Close())
					}
					for _, sc := range api.scenarios {
						compareDrivers(t, srv.name+"/"+api.name+"/"+sc.name, obs[sc.name])
					}
				})
			}
		})
	}
}

// compareDrivers reports every observation in which rawmysql and go-sql-driver differ, unless listed in
// knownDifferences.
func compareDrivers(t *testing.T, where string, byDriver map[string][]string) {
	t.Helper()
	raw, ref := byDriver[drivers[0]], byDriver[drivers[1]]
	if raw == nil || ref == nil {
		return // a run failed; its own error is reported
	}
	rm, fm := toMap(raw), toMap(ref)
	keys := make([]string, 0, len(rm)+len(fm))
	for k := range rm {
		keys = append(keys, k)
	}
	for k := range fm {
		if _, ok := rm[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if rm[k] == fm[k] {
			continue
		}
		if _, known := knownDifferences[where+"/"+k]; known {
			seenDifferences[where+"/"+k] = true
			continue
		}
		t.Errorf("%s: %s: rawmysql observed %q, go-sql-driver/mysql %q", where, k, rm[k], fm[k])
	}
}

// toMap turns "key=value" observations into a map.
func toMap(obs []string) map[string]string {
	m := make(map[string]string, len(obs))
	for _, o := range obs {
		k, v, _ := strings.Cut(o, "=")
		m[k] = v
	}
	return m
}

// obsf formats one observation.
func obsf(key, format string, args ...any) string { return key + "=" + fmt.Sprintf(format, args...) }

// Reference values shared by the scenarios of the three APIs.
var (
	// refTime has microseconds, stored in DATETIME(6).
	refTime = time.Date(2024, 2, 29, 13, 14, 15, 123456000, time.UTC)
	refDate = time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC)
)
