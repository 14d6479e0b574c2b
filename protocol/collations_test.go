package protocol

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCollationIDKnown(t *testing.T) {
	// Ids as reported by SHOW COLLATION on MariaDB 10.11 and MySQL 8.
	tests := []struct {
		name    string
		id      uint8
		charset string
	}{
		{"big5_chinese_ci", 1, "big5"},
		{"latin2_czech_cs", 2, "latin2"},
		{"latin1_swedish_ci", 8, "latin1"},
		{"sjis_japanese_ci", 13, "sjis"},
		{"gbk_chinese_ci", 28, "gbk"},
		{"utf8mb3_general_ci", 33, "utf8mb3"},
		{"utf8mb4_general_ci", 45, "utf8mb4"},
		{"utf8mb4_bin", 46, "utf8mb4"},
		{"latin1_bin", 47, "latin1"},
		{"binary", 63, "binary"},
		{"utf8mb3_bin", 83, "utf8mb3"},
		{"cp932_japanese_ci", 95, "cp932"},
		{"utf8mb3_unicode_ci", 192, "utf8mb3"},
		{"utf8mb3_general_mysql500_ci", 223, "utf8mb3"},
		{"utf8mb4_unicode_ci", 224, "utf8mb4"},
		{"utf8mb4_croatian_mysql561_ci", 245, "utf8mb4"},
		{"utf8mb4_unicode_520_ci", 246, "utf8mb4"},
		{"utf8mb4_vietnamese_ci", 247, "utf8mb4"},
		{"gb18030_chinese_ci", 248, "gb18030"},
		{"utf8mb4_0900_ai_ci", 255, "utf8mb4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, ok := CollationID(tt.name)
			require.True(t, ok)
			assert.Equal(t, tt.id, id)
			assert.Equal(t, tt.charset, CollationCharset(id))
			assert.Equal(t, tt.name, CollationName(id))
		})
	}
}

func TestCollationIDAliases(t *testing.T) {
	tests := []struct {
		name string
		id   uint8
	}{
		{"utf8_general_ci", 33},      // pre-utf8mb3 spelling
		{"utf8_bin", 83},             // pre-utf8mb3 spelling
		{"utf8_unicode_ci", 192},     // pre-utf8mb3 spelling
		{"utf8_tolower_ci", 76},      // MySQL 8.0 before 8.0.30
		{"utf8_croatian_ci", 213},    // MySQL name of utf8mb3_croatian_mysql561_ci
		{"utf8mb4_croatian_ci", 245}, // MySQL name of utf8mb4_croatian_mysql561_ci
		{"ucs2_croatian_ci", 149},    // MySQL name of ucs2_croatian_mysql561_ci
		{"UTF8MB4_General_CI", 45},   // names are case-insensitive
		{"utf8_croatian_mysql561_ci", 213},
	}
	for _, tt := range tests {
		id, ok := CollationID(tt.name)
		require.True(t, ok, tt.name)
		assert.Equal(t, tt.id, id, tt.name)
	}
}

func TestCollationIDUnknown(t *testing.T) {
	for _, name := range []string{
		"",
		"utf8mb4",                    // a charset, not a collation
		"utf8mb4_general",            // truncated
		"uca1400_ai_ci",              // MariaDB 10.10+, id above 255
		"utf8mb4_uca1400_ai_ci",      // MariaDB 11, id above 255
		"utf8mb4_0900_as_cs",         // MySQL 8, id 278
		"utf8mb4_general_ci ",        // trailing space
		"utf8mb4_general_ci\x00junk", // embedded NUL
	} {
		_, ok := CollationID(name)
		assert.False(t, ok, "%q", name)
	}
}

func TestCollationCharsetUnknownID(t *testing.T) {
	for _, id := range []uint8{0, 17, 100, 125, 127, 152, 158, 184, 191, 216, 222, 251, 254} {
		assert.Empty(t, CollationCharset(id), "id %d", id)
		assert.Empty(t, CollationName(id), "id %d", id)
	}
}

// TestCollationTableConsistent checks every entry of the table: the name starts with its charset (the naming rule
// of both servers), the name maps back to the same id, and the utf8 alias of each utf8mb3 collation exists.
func TestCollationTableConsistent(t *testing.T) {
	n := 0
	for i, c := range collations {
		if c.name == "" {
			assert.Empty(t, c.charset, "id %d", i)
			continue
		}
		n++
		id := uint8(i)
		assert.Equal(t, strings.ToLower(c.name), c.name)
		if c.name != "binary" {
			assert.True(t, strings.HasPrefix(c.name, c.charset+"_"), "id %d: %s / %s", i, c.name, c.charset)
		}
		got, ok := CollationID(c.name)
		require.True(t, ok, c.name)
		assert.Equal(t, id, got, c.name)
		if rest, ok := strings.CutPrefix(c.name, "utf8mb3_"); ok {
			got, ok := CollationID("utf8_" + rest)
			require.True(t, ok, c.name)
			assert.Equal(t, id, got, c.name)
		}
	}
	// MariaDB 10.11 defines 219 collations below 256; MySQL 8 adds 5 more.
	assert.Equal(t, 224, n)
	for name, id := range collationAliases {
		assert.NotEmpty(t, collations[id].name, "alias %s points at an empty id", name)
	}
}

func TestIsMultibyteUnsafeCharset(t *testing.T) {
	for _, cs := range []string{"big5", "cp932", "gb2312", "gbk", "gb18030", "sjis", "SJIS", "Big5"} {
		assert.True(t, IsMultibyteUnsafeCharset(cs), cs)
	}
	for _, cs := range []string{"", "utf8mb4", "utf8mb3", "utf8", "latin1", "binary", "ujis", "euckr", "ucs2", "utf16"} {
		assert.False(t, IsMultibyteUnsafeCharset(cs), cs)
	}
	// Every collation of an unsafe charset is reported through its charset.
	for _, name := range []string{"big5_chinese_ci", "sjis_bin", "gbk_chinese_ci", "cp932_japanese_ci", "gb18030_bin"} {
		id, ok := CollationID(name)
		require.True(t, ok, name)
		assert.True(t, IsMultibyteUnsafeCharset(CollationCharset(id)), name)
	}
}
