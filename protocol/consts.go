package protocol

import (
	"strconv"
	"strings"
)

// MaxPayloadLen is the largest payload one packet carries (2^24-1 bytes). A payload of this length or more is
// split over several packets; a payload that is an exact multiple ends with an empty packet.
const MaxPayloadLen = 1<<24 - 1

// Capability is the set of CLIENT_* capability flags exchanged in the handshake.
// See https://dev.mysql.com/doc/dev/mysql-server/latest/group__group__cs__capabilities__flags.html.
type Capability uint32

// Capability flags.
const (
	ClientLongPassword               Capability = 1 << 0 // CLIENT_LONG_PASSWORD (MariaDB: CLIENT_MYSQL)
	ClientFoundRows                  Capability = 1 << 1
	ClientLongFlag                   Capability = 1 << 2
	ClientConnectWithDB              Capability = 1 << 3
	ClientNoSchema                   Capability = 1 << 4
	ClientCompress                   Capability = 1 << 5
	ClientODBC                       Capability = 1 << 6
	ClientLocalFiles                 Capability = 1 << 7
	ClientIgnoreSpace                Capability = 1 << 8
	ClientProtocol41                 Capability = 1 << 9
	ClientInteractive                Capability = 1 << 10
	ClientSSL                        Capability = 1 << 11
	ClientIgnoreSIGPIPE              Capability = 1 << 12
	ClientTransactions               Capability = 1 << 13
	ClientReserved                   Capability = 1 << 14
	ClientSecureConnection           Capability = 1 << 15
	ClientMultiStatements            Capability = 1 << 16
	ClientMultiResults               Capability = 1 << 17
	ClientPSMultiResults             Capability = 1 << 18
	ClientPluginAuth                 Capability = 1 << 19
	ClientConnectAttrs               Capability = 1 << 20
	ClientPluginAuthLenencClientData Capability = 1 << 21
	ClientCanHandleExpiredPasswords  Capability = 1 << 22
	ClientSessionTrack               Capability = 1 << 23
	ClientDeprecateEOF               Capability = 1 << 24
	ClientOptionalResultsetMetadata  Capability = 1 << 25
	ClientZstdCompression            Capability = 1 << 26
	ClientQueryAttributes            Capability = 1 << 27
	ClientMultiFactorAuth            Capability = 1 << 28
	ClientSSLVerifyServerCert        Capability = 1 << 30
	ClientRememberOptions            Capability = 1 << 31
)

// MariaDB extended capabilities (the upper 32 bits of MariaDB's 64-bit capability set), exchanged in bytes
// that MySQL leaves reserved when CLIENT_MYSQL (ClientLongPassword) is clear.
// See https://mariadb.com/kb/en/connection/#capabilities.
const (
	// MariaDBClientCacheMetadata (MARIADB_CLIENT_CACHE_METADATA, 1<<36, MariaDB 10.6+): a result set's column
	// count packet carries a "metadata follows" byte, and a prepared statement's execution skips the column
	// definitions when they did not change since the prepare (or the last execution).
	MariaDBClientCacheMetadata uint32 = 1 << 4
)

var capabilityNames = [...]string{
	"CLIENT_LONG_PASSWORD", "CLIENT_FOUND_ROWS", "CLIENT_LONG_FLAG", "CLIENT_CONNECT_WITH_DB",
	"CLIENT_NO_SCHEMA", "CLIENT_COMPRESS", "CLIENT_ODBC", "CLIENT_LOCAL_FILES",
	"CLIENT_IGNORE_SPACE", "CLIENT_PROTOCOL_41", "CLIENT_INTERACTIVE", "CLIENT_SSL",
	"CLIENT_IGNORE_SIGPIPE", "CLIENT_TRANSACTIONS", "CLIENT_RESERVED", "CLIENT_SECURE_CONNECTION",
	"CLIENT_MULTI_STATEMENTS", "CLIENT_MULTI_RESULTS", "CLIENT_PS_MULTI_RESULTS", "CLIENT_PLUGIN_AUTH",
	"CLIENT_CONNECT_ATTRS", "CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA", "CLIENT_CAN_HANDLE_EXPIRED_PASSWORDS",
	"CLIENT_SESSION_TRACK", "CLIENT_DEPRECATE_EOF", "CLIENT_OPTIONAL_RESULTSET_METADATA",
	"CLIENT_ZSTD_COMPRESSION_ALGORITHM", "CLIENT_QUERY_ATTRIBUTES", "MULTI_FACTOR_AUTHENTICATION",
	"CLIENT_CAPABILITY_EXTENSION", "CLIENT_SSL_VERIFY_SERVER_CERT", "CLIENT_REMEMBER_OPTIONS",
}

// String lists the set flags, e.g. "CLIENT_PROTOCOL_41|CLIENT_SSL".
func (c Capability) String() string { return flagString(uint64(c), capabilityNames[:]) }

// Has reports whether all flags of f are set in c.
func (c Capability) Has(f Capability) bool { return c&f == f }

// StatusFlag is the SERVER_STATUS_* bit set sent in OK and EOF packets.
type StatusFlag uint16

// Server status flags.
const (
	StatusInTrans            StatusFlag = 1 << 0
	StatusAutocommit         StatusFlag = 1 << 1
	StatusMoreResultsExists  StatusFlag = 1 << 3
	StatusNoGoodIndexUsed    StatusFlag = 1 << 4
	StatusNoIndexUsed        StatusFlag = 1 << 5
	StatusCursorExists       StatusFlag = 1 << 6
	StatusLastRowSent        StatusFlag = 1 << 7
	StatusDBDropped          StatusFlag = 1 << 8
	StatusNoBackslashEscapes StatusFlag = 1 << 9
	StatusMetadataChanged    StatusFlag = 1 << 10
	StatusQueryWasSlow       StatusFlag = 1 << 11
	StatusPSOutParams        StatusFlag = 1 << 12
	StatusInTransReadonly    StatusFlag = 1 << 13
	StatusSessionStateChange StatusFlag = 1 << 14
)

var statusNames = [...]string{
	"SERVER_STATUS_IN_TRANS", "SERVER_STATUS_AUTOCOMMIT", "", "SERVER_MORE_RESULTS_EXISTS",
	"SERVER_QUERY_NO_GOOD_INDEX_USED", "SERVER_QUERY_NO_INDEX_USED", "SERVER_STATUS_CURSOR_EXISTS",
	"SERVER_STATUS_LAST_ROW_SENT", "SERVER_STATUS_DB_DROPPED", "SERVER_STATUS_NO_BACKSLASH_ESCAPES",
	"SERVER_STATUS_METADATA_CHANGED", "SERVER_QUERY_WAS_SLOW", "SERVER_PS_OUT_PARAMS",
	"SERVER_STATUS_IN_TRANS_READONLY", "SERVER_SESSION_STATE_CHANGED",
}

// String lists the set flags.
func (s StatusFlag) String() string { return flagString(uint64(s), statusNames[:]) }

// Command is the first byte of a client command packet.
type Command byte

// Commands (COM_*).
const (
	ComSleep            Command = 0x00
	ComQuit             Command = 0x01
	ComInitDB           Command = 0x02
	ComQuery            Command = 0x03
	ComFieldList        Command = 0x04
	ComCreateDB         Command = 0x05
	ComDropDB           Command = 0x06
	ComRefresh          Command = 0x07
	ComShutdown         Command = 0x08
	ComStatistics       Command = 0x09
	ComProcessInfo      Command = 0x0a
	ComConnect          Command = 0x0b
	ComProcessKill      Command = 0x0c
	ComDebug            Command = 0x0d
	ComPing             Command = 0x0e
	ComTime             Command = 0x0f
	ComDelayedInsert    Command = 0x10
	ComChangeUser       Command = 0x11
	ComBinlogDump       Command = 0x12
	ComTableDump        Command = 0x13
	ComConnectOut       Command = 0x14
	ComRegisterSlave    Command = 0x15
	ComStmtPrepare      Command = 0x16
	ComStmtExecute      Command = 0x17
	ComStmtSendLongData Command = 0x18
	ComStmtClose        Command = 0x19
	ComStmtReset        Command = 0x1a
	ComSetOption        Command = 0x1b
	ComStmtFetch        Command = 0x1c
	ComDaemon           Command = 0x1d
	ComBinlogDumpGTID   Command = 0x1e
	ComResetConnection  Command = 0x1f
)

var commandNames = map[Command]string{
	ComSleep: "COM_SLEEP", ComQuit: "COM_QUIT", ComInitDB: "COM_INIT_DB", ComQuery: "COM_QUERY",
	ComFieldList: "COM_FIELD_LIST", ComCreateDB: "COM_CREATE_DB", ComDropDB: "COM_DROP_DB",
	ComRefresh: "COM_REFRESH", ComShutdown: "COM_SHUTDOWN", ComStatistics: "COM_STATISTICS",
	ComProcessInfo: "COM_PROCESS_INFO", ComConnect: "COM_CONNECT", ComProcessKill: "COM_PROCESS_KILL",
	ComDebug: "COM_DEBUG", ComPing: "COM_PING", ComTime: "COM_TIME", ComDelayedInsert: "COM_DELAYED_INSERT",
	ComChangeUser: "COM_CHANGE_USER", ComBinlogDump: "COM_BINLOG_DUMP", ComTableDump: "COM_TABLE_DUMP",
	ComConnectOut: "COM_CONNECT_OUT", ComRegisterSlave: "COM_REGISTER_SLAVE",
	ComStmtPrepare: "COM_STMT_PREPARE", ComStmtExecute: "COM_STMT_EXECUTE",
	ComStmtSendLongData: "COM_STMT_SEND_LONG_DATA", ComStmtClose: "COM_STMT_CLOSE",
	ComStmtReset: "COM_STMT_RESET", ComSetOption: "COM_SET_OPTION", ComStmtFetch: "COM_STMT_FETCH",
	ComDaemon: "COM_DAEMON", ComBinlogDumpGTID: "COM_BINLOG_DUMP_GTID", ComResetConnection: "COM_RESET_CONNECTION",
}

// String returns the manual's name, e.g. "COM_QUERY".
func (c Command) String() string {
	if s, ok := commandNames[c]; ok {
		return s
	}
	return "COM_0x" + strconv.FormatUint(uint64(c), 16)
}

// FieldType is a column type code (MYSQL_TYPE_*) from ColumnDefinition41 and the binary protocol.
type FieldType byte

// Column types.
const (
	TypeDecimal    FieldType = 0x00
	TypeTiny       FieldType = 0x01
	TypeShort      FieldType = 0x02
	TypeLong       FieldType = 0x03
	TypeFloat      FieldType = 0x04
	TypeDouble     FieldType = 0x05
	TypeNull       FieldType = 0x06
	TypeTimestamp  FieldType = 0x07
	TypeLongLong   FieldType = 0x08
	TypeInt24      FieldType = 0x09
	TypeDate       FieldType = 0x0a
	TypeTime       FieldType = 0x0b
	TypeDateTime   FieldType = 0x0c
	TypeYear       FieldType = 0x0d
	TypeNewDate    FieldType = 0x0e
	TypeVarChar    FieldType = 0x0f
	TypeBit        FieldType = 0x10
	TypeTimestamp2 FieldType = 0x11
	TypeDateTime2  FieldType = 0x12
	TypeTime2      FieldType = 0x13
	TypeVector     FieldType = 0xf2
	TypeJSON       FieldType = 0xf5
	TypeNewDecimal FieldType = 0xf6
	TypeEnum       FieldType = 0xf7
	TypeSet        FieldType = 0xf8
	TypeTinyBlob   FieldType = 0xf9
	TypeMediumBlob FieldType = 0xfa
	TypeLongBlob   FieldType = 0xfb
	TypeBlob       FieldType = 0xfc
	TypeVarString  FieldType = 0xfd
	TypeString     FieldType = 0xfe
	TypeGeometry   FieldType = 0xff
)

var typeNames = map[FieldType]string{
	TypeDecimal: "MYSQL_TYPE_DECIMAL", TypeTiny: "MYSQL_TYPE_TINY", TypeShort: "MYSQL_TYPE_SHORT",
	TypeLong: "MYSQL_TYPE_LONG", TypeFloat: "MYSQL_TYPE_FLOAT", TypeDouble: "MYSQL_TYPE_DOUBLE",
	TypeNull: "MYSQL_TYPE_NULL", TypeTimestamp: "MYSQL_TYPE_TIMESTAMP", TypeLongLong: "MYSQL_TYPE_LONGLONG",
	TypeInt24: "MYSQL_TYPE_INT24", TypeDate: "MYSQL_TYPE_DATE", TypeTime: "MYSQL_TYPE_TIME",
	TypeDateTime: "MYSQL_TYPE_DATETIME", TypeYear: "MYSQL_TYPE_YEAR", TypeNewDate: "MYSQL_TYPE_NEWDATE",
	TypeVarChar: "MYSQL_TYPE_VARCHAR", TypeBit: "MYSQL_TYPE_BIT", TypeTimestamp2: "MYSQL_TYPE_TIMESTAMP2",
	TypeDateTime2: "MYSQL_TYPE_DATETIME2", TypeTime2: "MYSQL_TYPE_TIME2", TypeVector: "MYSQL_TYPE_VECTOR",
	TypeJSON: "MYSQL_TYPE_JSON", TypeNewDecimal: "MYSQL_TYPE_NEWDECIMAL", TypeEnum: "MYSQL_TYPE_ENUM",
	TypeSet: "MYSQL_TYPE_SET", TypeTinyBlob: "MYSQL_TYPE_TINY_BLOB", TypeMediumBlob: "MYSQL_TYPE_MEDIUM_BLOB",
	TypeLongBlob: "MYSQL_TYPE_LONG_BLOB", TypeBlob: "MYSQL_TYPE_BLOB", TypeVarString: "MYSQL_TYPE_VAR_STRING",
	TypeString: "MYSQL_TYPE_STRING", TypeGeometry: "MYSQL_TYPE_GEOMETRY",
}

// String returns the manual's name, e.g. "MYSQL_TYPE_LONGLONG".
func (t FieldType) String() string {
	if s, ok := typeNames[t]; ok {
		return s
	}
	return "MYSQL_TYPE_0x" + strconv.FormatUint(uint64(t), 16)
}

// FieldFlag is the column flag set of ColumnDefinition41.
type FieldFlag uint16

// Column flags.
const (
	FlagNotNull       FieldFlag = 1 << 0
	FlagPriKey        FieldFlag = 1 << 1
	FlagUniqueKey     FieldFlag = 1 << 2
	FlagMultipleKey   FieldFlag = 1 << 3
	FlagBlob          FieldFlag = 1 << 4
	FlagUnsigned      FieldFlag = 1 << 5
	FlagZeroFill      FieldFlag = 1 << 6
	FlagBinary        FieldFlag = 1 << 7
	FlagEnum          FieldFlag = 1 << 8
	FlagAutoIncrement FieldFlag = 1 << 9
	FlagTimestamp     FieldFlag = 1 << 10
	FlagSet           FieldFlag = 1 << 11
	FlagNoDefault     FieldFlag = 1 << 12
	FlagOnUpdateNow   FieldFlag = 1 << 13
	FlagNum           FieldFlag = 1 << 15
)

var fieldFlagNames = [...]string{
	"NOT_NULL", "PRI_KEY", "UNIQUE_KEY", "MULTIPLE_KEY", "BLOB", "UNSIGNED", "ZEROFILL", "BINARY",
	"ENUM", "AUTO_INCREMENT", "TIMESTAMP", "SET", "NO_DEFAULT_VALUE", "ON_UPDATE_NOW", "", "NUM",
}

// String lists the set flags.
func (f FieldFlag) String() string { return flagString(uint64(f), fieldFlagNames[:]) }

func flagString(v uint64, names []string) string {
	if v == 0 {
		return "0"
	}
	var b strings.Builder
	for i := 0; i < 64; i++ {
		if v&(1<<i) == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('|')
		}
		if i < len(names) && names[i] != "" {
			b.WriteString(names[i])
		} else {
			b.WriteString("0x")
			b.WriteString(strconv.FormatUint(1<<i, 16))
		}
	}
	return b.String()
}

// BinaryCollationID is the collation id of the "binary" character set: columns with it hold bytes, not text.
const BinaryCollationID = 63
