package protocol

// mysql_clear_password sends the password as is (plus a NUL), for server-side plugins that need it (PAM, LDAP).
// See https://dev.mysql.com/doc/refman/8.0/en/cleartext-pluggable-authentication.html.
//
// rawmysql answers it only when Options.AllowCleartextPasswords is set (DSN allowCleartextPasswords=true),
// whatever the transport: without it a server (or a man in the middle) asking for the password in clear is
// refused before a byte of the password is written. With it, the password is sent on any transport, as
// go-sql-driver/mysql does; use it together with TLS or a unix socket.

func init() { RegisterAuthPlugin(clearPassword{}) }

type clearPassword struct{}

func (clearPassword) Name() string { return "mysql_clear_password" }

func (clearPassword) Start(a *AuthState) ([]byte, error) {
	if a.Opts == nil || !a.Opts.AllowCleartextPasswords {
		transport := "a plain TCP connection"
		if a.TLS {
			transport = "a TLS connection"
		} else if a.Unix {
			transport = "a unix socket"
		}
		return nil, &UnsupportedPluginError{Plugin: "mysql_clear_password",
			Reason: "the server asked for the password in clear text over " + transport +
				"; refused unless allowCleartextPasswords=true (use it only with TLS or a unix socket)"}
	}
	return append([]byte(a.Password), 0), nil
}

func (clearPassword) Continue(a *AuthState, data []byte) ([]byte, bool, error) {
	return nil, false, protoErr("AuthMoreData (mysql_clear_password)", "unexpected packet of %d bytes", len(data))
}
