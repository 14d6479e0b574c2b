package rawmysql

// scanPlaceholders calls fn with the offset of every ? placeholder of query that is outside string literals,
// quoted identifiers and comments. Backslash escapes inside literals count unless noBackslash.
func scanPlaceholders(query string, noBackslash bool, fn func(pos int)) {
	for i := 0; i < len(query); i++ {
		switch c := query[i]; c {
		case '?':
			fn(i)
		case '\'', '"', '`':
			i++
			for i < len(query) {
				if query[i] == '\\' && c != '`' && !noBackslash {
					i += 2
					continue
				}
				if query[i] == c {
					if i+1 < len(query) && query[i+1] == c { // doubled quote
						i += 2
						continue
					}
					break
				}
				i++
			}
		case '#':
			for i < len(query) && query[i] != '\n' {
				i++
			}
		case '-':
			if i+2 < len(query) && query[i+1] == '-' && (query[i+2] == ' ' || query[i+2] == '\t' || query[i+2] == '\n' || query[i+2] == '\r') ||
				i+2 == len(query) && query[i+1] == '-' {
				for i < len(query) && query[i] != '\n' {
					i++
				}
			}
		case '/':
			if i+1 < len(query) && query[i+1] == '*' {
				end := -1
				for j := i + 2; j+1 < len(query); j++ {
					if query[j] == '*' && query[j+1] == '/' {
						end = j + 1
						break
					}
				}
				if end < 0 {
					return
				}
				i = end
			}
		}
	}
}

func countPlaceholders(query string, noBackslash bool) int {
	n := 0
	scanPlaceholders(query, noBackslash, func(int) { n++ })
	return n
}

// appendQuoted appends s as a single-quoted SQL string literal.
func appendQuoted[T ~string | ~[]byte](buf []byte, s T, noBackslash bool) []byte {
	buf = append(buf, '\'')
	if noBackslash {
		for i := 0; i < len(s); i++ {
			if s[i] == '\'' {
				buf = append(buf, '\'', '\'')
			} else {
				buf = append(buf, s[i])
			}
		}
		return append(buf, '\'')
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case 0:
			buf = append(buf, '\\', '0')
		case '\n':
			buf = append(buf, '\\', 'n')
		case '\r':
			buf = append(buf, '\\', 'r')
		case 0x1a:
			buf = append(buf, '\\', 'Z')
		case '\'':
			buf = append(buf, '\\', '\'')
		case '"':
			buf = append(buf, '\\', '"')
		case '\\':
			buf = append(buf, '\\', '\\')
		default:
			buf = append(buf, c)
		}
	}
	return append(buf, '\'')
}
