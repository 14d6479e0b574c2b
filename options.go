package rawmysql

import (
	"context"
	"time"
)

// Option changes a Config; apply options with Config.Apply. The options are go-sql-driver/mysql's, with the
// same names and effects.
type Option func(*Config) error

// Apply applies opts to c in order and stops at the first error.
func (c *Config) Apply(opts ...Option) error {
	for _, opt := range opts {
		if err := opt(c); err != nil {
			return err
		}
	}
	return nil
}

// TimeTruncate makes time.Time arguments be truncated to d before they are sent (Config.TimeTruncate, DSN
// timeTruncate).
func TimeTruncate(d time.Duration) Option {
	return func(c *Config) error {
		c.TimeTruncate = d
		return nil
	}
}

// BeforeConnect sets fn to run before each new connection is made, with a copy of the Config that fn may
// change for that connection only — typically to set a fresh password or token (AWS RDS or Cloud SQL IAM
// authentication) or another address. An error from fn fails the connection attempt with that error. The
// connection keeps the Config fn returned: its KILL QUERY side connection (killQueryOnCancel) logs in with the
// same credentials, without running fn again.
func BeforeConnect(fn func(context.Context, *Config) error) Option {
	return func(c *Config) error {
		c.beforeConnect = fn
		return nil
	}
}

// EnableCompression turns zlib protocol compression on or off (Config.Compress, DSN compress).
func EnableCompression(yes bool) Option {
	return func(c *Config) error {
		c.Compress = yes
		return nil
	}
}

// Charset sets the connection character set and collation: "SET NAMES charset" is sent after connecting, or
// "SET NAMES charset COLLATE collation" when collation is not empty (Config.Charset and Config.Collation, DSN
// charset and collation). An empty collation leaves Collation unset (the default handshake collation).
func Charset(charset, collation string) Option {
	return func(c *Config) error {
		c.Charset = charset
		c.Collation = collation
		return nil
	}
}
