package commonschema

// valid reports whether b is one JSON value (RFC 8259) with surrounding
// white space, nested at most maxDepth deep. It accepts exactly what
// encoding/json's Valid accepts (a fuzz test holds it to that), faster
// and without recursion; validation is a large share of decoding an alert.
func valid(b []byte) bool {
	// stack holds one bit per open container: 1 object, 0 array.
	var stackBuf [4]uint64
	stack := stackBuf[:0]
	depth := 0
	push := func(obj bool) bool {
		if depth >= maxDepth {
			return false
		}
		if depth%64 == 0 {
			stack = append(stack, 0)
		}
		w := &stack[depth/64]
		if obj {
			*w |= 1 << (depth % 64)
		} else {
			*w &^= 1 << (depth % 64)
		}
		depth++
		return true
	}
	inObject := func() bool { d := depth - 1; return stack[d/64]&(1<<(d%64)) != 0 }

	i := ws(b, 0)
	for {
		// A value starts at b[i].
		if i >= len(b) {
			return false
		}
		switch c := b[i]; {
		case c == '{':
			if !push(true) {
				return false
			}
			i = ws(b, i+1)
			if i < len(b) && b[i] == '}' {
				depth--
				i++
				break
			}
			if i = member(b, i); i < 0 {
				return false
			}
			continue
		case c == '[':
			if !push(false) {
				return false
			}
			i = ws(b, i+1)
			if i < len(b) && b[i] == ']' {
				depth--
				i++
				break
			}
			continue
		case c == '"':
			if i = validString(b, i); i < 0 {
				return false
			}
		case c == '-' || (c >= '0' && c <= '9'):
			if i = validNumber(b, i); i < 0 {
				return false
			}
		case c == 't':
			if i = literal(b, i, "true"); i < 0 {
				return false
			}
		case c == 'f':
			if i = literal(b, i, "false"); i < 0 {
				return false
			}
		case c == 'n':
			if i = literal(b, i, "null"); i < 0 {
				return false
			}
		default:
			return false
		}
		// After a value: close containers or move to the next element.
		for {
			i = ws(b, i)
			if depth == 0 {
				return i == len(b)
			}
			if i >= len(b) {
				return false
			}
			obj := inObject()
			switch b[i] {
			case ',':
				i = ws(b, i+1)
				if obj {
					if i = member(b, i); i < 0 {
						return false
					}
				}
			case '}':
				if !obj {
					return false
				}
				depth--
				i++
				continue
			case ']':
				if obj {
					return false
				}
				depth--
				i++
				continue
			default:
				return false
			}
			break
		}
	}
}

// maxDepth is encoding/json's nesting limit.
const maxDepth = 10000

// member checks `"key" :` at b[i] and returns the index of the value.
func member(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	if i = validString(b, i); i < 0 {
		return -1
	}
	i = ws(b, i)
	if i >= len(b) || b[i] != ':' {
		return -1
	}
	return ws(b, i+1)
}

// validString checks the string literal at b[i] and returns the index
// after it, or -1.
func validString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1
		case c < 0x20:
			return -1
		case c == '\\':
			i++
			if i >= len(b) {
				return -1
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(b) {
					return -1
				}
				for _, h := range b[i+1 : i+5] {
					if !isHex(h) {
						return -1
					}
				}
				i += 4
			default:
				return -1
			}
		}
	}
	return -1
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// validNumber checks -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at
// b[i] and returns the index after it, or -1.
func validNumber(b []byte, i int) int {
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(b, i+1)
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

func digits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

// literal checks that word is at b[i] and returns the index after it.
func literal(b []byte, i int, word string) int {
	if len(b)-i < len(word) || string(b[i:i+len(word)]) != word {
		return -1
	}
	return i + len(word)
}
