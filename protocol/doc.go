// Package protocol implements the MySQL client/server protocol as MySQL and MariaDB speak it, with no
// database/sql in it: the root package rawmysql is the database/sql adapter on top.
//
// Framing (packet.go) splits and joins payloads of 16 MiB and checks sequence ids; Connect runs the connection
// phase — Handshake v10, an optional TLS upgrade, HandshakeResponse41 and the authentication exchange through
// the AuthPlugin registry — and returns a Conn, which keeps an explicit state (idle, busy, broken, closed) and
// runs commands: COM_QUERY with streaming text results (Result), COM_STMT_PREPARE/EXECUTE/CLOSE with binary
// rows, COM_PING, COM_RESET_CONNECTION, LOAD DATA LOCAL INFILE. Every packet type is a struct with Decode (and
// AppendTo for the packets a client sends), tested on captured bytes and fuzzed; decoders return a
// *ProtocolError instead of panicking on bad bytes. Server errors are *ServerError with the error number and
// SQLSTATE. Options.Trace sees every packet read or written.
//
// The protocol pages followed are those of the MySQL source documentation
// (https://dev.mysql.com/doc/dev/mysql-server/latest/PAGE_PROTOCOL.html) and of the MariaDB knowledge base
// (https://mariadb.com/kb/en/clientserver-protocol/).
package protocol
