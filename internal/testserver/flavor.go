package testserver

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// IsMariaDB reports whether s is a MariaDB server (from its version string; see Version).
func (s *Server) IsMariaDB() bool { return strings.Contains(strings.ToLower(s.version()), "mariadb") }

// IsMySQL reports whether s is an Oracle MySQL server (or another server that does not call itself MariaDB).
func (s *Server) IsMySQL() bool { return !s.IsMariaDB() }

// Flavor returns "MariaDB" or "MySQL" followed by the server's major.minor.patch version, e.g. "MySQL 9.7.4",
// for skip messages and logs.
func (s *Server) Flavor() string {
	major, minor, patch := s.VersionNumbers()
	name := "MySQL"
	if s.IsMariaDB() {
		name = "MariaDB"
	}
	return fmt.Sprintf("%s %d.%d.%d", name, major, minor, patch)
}

// VersionNumbers returns the server's major, minor and patch version (MariaDB's "5.5.5-" prefix, added for old
// clients, is skipped); zeros when unknown.
func (s *Server) VersionNumbers() (major, minor, patch int) {
	v := strings.TrimPrefix(s.version(), "5.5.5-")
	if i := strings.IndexFunc(v, func(r rune) bool { return r != '.' && (r < '0' || r > '9') }); i >= 0 {
		v = v[:i]
	}
	parts := strings.SplitN(v, ".", 3)
	nums := [3]int{}
	for i, p := range parts {
		nums[i], _ = strconv.Atoi(p)
	}
	return nums[0], nums[1], nums[2]
}

// AtLeast reports whether the server's version is at least major.minor.
func (s *Server) AtLeast(major, minor int) bool {
	ma, mi, _ := s.VersionNumbers()
	return ma > major || ma == major && mi >= minor
}

// NeedMariaDB skips t unless the server is MariaDB (at least major.minor when major > 0), saying why.
func (s *Server) NeedMariaDB(t testing.TB, major, minor int, why string) {
	t.Helper()
	s.need(t, "MariaDB", s.IsMariaDB(), major, minor, why)
}

// NeedMySQL skips t unless the server is Oracle MySQL (at least major.minor when major > 0), saying why.
func (s *Server) NeedMySQL(t testing.TB, major, minor int, why string) {
	t.Helper()
	s.need(t, "MySQL", s.IsMySQL(), major, minor, why)
}

// need skips t unless the server is of the flavor named (is) and, when major > 0, at least major.minor.
func (s *Server) need(t testing.TB, flavor string, is bool, major, minor int, why string) {
	t.Helper()
	if is && (major == 0 || s.AtLeast(major, minor)) {
		return
	}
	if major > 0 {
		flavor = fmt.Sprintf("%s %d.%d or later", flavor, major, minor)
	}
	t.Skipf("needs %s (%s); this server is %s", flavor, why, s.Flavor())
}

// version returns s.Version, asking the server with Exec when the greeting was not read (a server known only
// by a socket the probe could not reach).
func (s *Server) version() string {
	s.versionOnce.Do(func() {
		if s.Version != "" {
			return
		}
		if out, err := s.Exec("SELECT VERSION()"); err == nil {
			s.Version = strings.TrimSpace(out)
		}
	})
	return s.Version
}
