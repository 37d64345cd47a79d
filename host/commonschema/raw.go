package commonschema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Decoding walks the body's bytes instead of unmarshalling into structs:
// the body is validated once (json.Valid), then each object is walked
// member by member, and a value is converted only when a field needs it,
// with the conversion the field needs. This is what makes decoding both
// tolerant and fast. Azure sends the same key as a string, a number or
// null from one payload to the next, and some arrays and objects arrive
// JSON-encoded inside a string; the converters below accept all of these
// and never fail, keeping what they can use. A single pass with
// encoding/json would rescan every custom-decoded value and the
// alertContext several times over.
//
// The walkers assume validated JSON: they never look back and never
// recurse, so no input can make them slow or deep.

// ws returns the index of the first non-space byte of b at or after i.
func ws(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// skipString returns the index after the string literal starting at b[i].
// It jumps from quote to quote; a quote preceded by an odd number of
// backslashes is escaped. Counting back never passes the previous quote,
// so the work stays linear.
func skipString(b []byte, i int) int {
	for i++; ; i++ {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			return len(b)
		}
		i += j
		n := 0
		for k := i - 1; b[k] == '\\'; k-- {
			n++
		}
		if n%2 == 0 {
			return i + 1
		}
	}
}

// skip returns the index after the value starting at b[i].
func skip(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	default:
		for i < len(b) {
			switch b[i] {
			case ',', '}', ']', ' ', '\n', '\r', '\t':
				return i
			}
			i++
		}
		return i
	}
}

// members calls fn with each member of the object obj, key without quotes
// (escapes kept) and value as raw JSON. obj must be a validated object.
func members(obj []byte, fn func(key, val []byte)) {
	if len(obj) == 0 || obj[0] != '{' {
		return
	}
	i := ws(obj, 1)
	for i < len(obj) && obj[i] == '"' {
		ke := skipString(obj, i)
		key := obj[i+1 : ke-1]
		i = ws(obj, ke)
		i = ws(obj, i+1) // past ':'
		ve := skip(obj, i)
		fn(key, obj[i:ve])
		i = ws(obj, ve)
		if i < len(obj) && obj[i] == ',' {
			i = ws(obj, i+1)
		}
	}
}

// elements calls fn with each element of the array arr as raw JSON. arr
// must be a validated array.
func elements(arr []byte, fn func(val []byte)) {
	if len(arr) == 0 || arr[0] != '[' {
		return
	}
	i := ws(arr, 1)
	for i < len(arr) && arr[i] != ']' {
		e := skip(arr, i)
		fn(arr[i:e])
		i = ws(arr, e)
		if i < len(arr) && arr[i] == ',' {
			i = ws(arr, i+1)
		}
	}
}

// keyBuf holds a folded object key; keys longer than it match nothing.
type keyBuf [40]byte

// fold returns key lower-cased into buf, for a case-insensitive switch.
// Escaped keys are decoded first. Keys that do not fit yield "".
func (buf *keyBuf) fold(key []byte) []byte {
	if bytes.IndexByte(key, '\\') >= 0 {
		var s string
		if json.Unmarshal(append(append([]byte{'"'}, key...), '"'), &s) != nil {
			return nil
		}
		key = []byte(s)
	}
	if len(key) > len(buf) {
		return nil
	}
	for i, c := range key {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return buf[:len(key)]
}

// str converts a value to a string: a string's content, a number's or
// boolean's JSON text, an object's or array's JSON text as sent (see
// storable), and "" for null or nothing.
//
// Every string it returns is valid UTF-8 without NUL characters: each
// byte that is not part of valid UTF-8, each NUL (\u0000) and each half of
// a UTF-16 surrogate pair sent alone becomes U+FFFD. PostgreSQL cannot
// store NUL or invalid UTF-8 in text, and the text becomes correlation
// keys, fields and audit messages: normalizing it here makes both store
// engines keep, and routes see, the same thing. Values that must be kept
// exactly are checked with inexact first.
func str(raw []byte) string {
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case 'n':
		return ""
	case '"':
		inner := raw[1 : len(raw)-1]
		if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
			return string(inner) // the usual case: nothing to unescape or replace
		}
		var s string
		_ = json.Unmarshal(raw, &s) // raw is validated; this unescapes and replaces invalid UTF-8 and lone surrogates
		if strings.IndexByte(s, 0) >= 0 {
			s = strings.ReplaceAll(s, "\x00", "\uFFFD")
		}
		return s
	}
	return string(storable(raw))
}

// storable returns the validated JSON text raw with each byte that is not
// part of valid UTF-8 replaced by U+FFFD and each \u0000 escape by
// \ufffd, so that the strings in it read as str reads them and either
// store engine keeps it. It returns raw itself when nothing needs
// replacing, the usual case.
func storable(raw []byte) []byte {
	if utf8.Valid(raw) && !bytes.Contains(raw, escapedNUL) {
		return raw
	}
	out := make([]byte, 0, len(raw)+8)
	for i := 0; i < len(raw); {
		switch c := raw[i]; {
		case c == '\\': // in validated JSON, only inside a string, and never last
			if bytes.HasPrefix(raw[i:], escapedNUL) {
				out = append(out, `\ufffd`...)
				i += len(escapedNUL)
				continue
			}
			out = append(out, c, raw[i+1]) // a pair, so "\\u0000" stays
			i += 2
		case c < utf8.RuneSelf:
			out = append(out, c)
			i++
		default:
			r, n := utf8.DecodeRune(raw[i:])
			if r == utf8.RuneError && n == 1 {
				out = utf8.AppendRune(out, utf8.RuneError)
			} else {
				out = append(out, raw[i:i+n]...)
			}
			i += n
		}
	}
	return out
}

var escapedNUL = []byte(`\u0000`)

// inexact says why str cannot return the string value raw exactly as sent:
// it holds invalid UTF-8, a NUL character, or half of a UTF-16 surrogate
// pair, each of which str would replace with U+FFFD. It returns "" when
// str keeps the value as sent (and for values that are not strings).
func inexact(raw []byte) string {
	if len(raw) == 0 || raw[0] != '"' {
		return ""
	}
	if !utf8.Valid(raw) {
		return "is not valid UTF-8"
	}
	for i := 1; i < len(raw)-1; i++ {
		if raw[i] != '\\' {
			continue
		}
		i++ // the escaped character; a validated string has it
		if raw[i] != 'u' {
			continue
		}
		r := hex4(raw[i+1:])
		i += 4
		switch {
		case r == 0:
			return `contains a NUL character (\u0000)`
		case r >= 0xDC00 && r <= 0xDFFF:
			return fmt.Sprintf(`contains \u%04x, half of a UTF-16 surrogate pair, alone`, r)
		case r >= 0xD800 && r <= 0xDBFF:
			if i+6 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
				if lo := hex4(raw[i+3:]); lo >= 0xDC00 && lo <= 0xDFFF {
					i += 6
					continue
				}
			}
			return fmt.Sprintf(`contains \u%04x, half of a UTF-16 surrogate pair, alone`, r)
		}
	}
	return ""
}

// hex4 reads the four hex digits at the start of b (validated JSON).
func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		default:
			r |= rune(c - 'A' + 10)
		}
	}
	return r
}

// trimmed is str without surrounding white space.
func trimmed(raw []byte) string { return strings.TrimSpace(str(raw)) }

// num converts a JSON number, or a string holding one, to a finite
// float64; anything else is nil.
func num(raw []byte) *float64 {
	if len(raw) == 0 {
		return nil
	}
	var text string
	switch c := raw[0]; {
	case c == '"':
		text = trimmed(raw)
	case c == '-' || (c >= '0' && c <= '9'):
		text = string(raw)
	default:
		return nil
	}
	if v, ok := parseFloat(text); ok {
		return &v
	}
	return nil
}

// parseFloat parses a finite decimal number; NaN and infinities (which
// strconv accepts as words) are refused because neither JSON nor HCL can
// carry them.
func parseFloat(s string) (float64, bool) {
	if s == "" {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

// tm converts a timestamp string (see parseTime) or an epoch number;
// anything else is the zero time.
func tm(raw []byte) time.Time {
	if len(raw) == 0 {
		return time.Time{}
	}
	switch c := raw[0]; {
	case c == '"':
		return parseTime(str(raw))
	case c == '-' || (c >= '0' && c <= '9'):
		if v, ok := parseFloat(string(raw)); ok {
			return epoch(v)
		}
	}
	return time.Time{}
}

// strs converts a list of strings sent as a JSON array, as a string
// holding a JSON array, or as a single plain string. Elements go through
// str and are trimmed; empty ones are dropped. null is an empty list.
func strs(raw []byte) []string {
	if len(raw) == 0 {
		return nil
	}
	switch raw[0] {
	case '[':
		var out []string
		elements(raw, func(v []byte) {
			if s := trimmed(v); s != "" {
				out = append(out, s)
			}
		})
		return out
	case '"':
		s := trimmed(raw)
		if inner := embeddedJSON(s); inner != nil && inner[0] == '[' {
			return strs(inner)
		}
		if s != "" {
			return []string{s}
		}
	}
	return nil
}

// strMap converts an object, or a string holding one, to a map of its
// members converted with str. Anything else is nil.
func strMap(raw []byte) map[string]string {
	if len(raw) == 0 {
		return nil
	}
	switch raw[0] {
	case '{':
		m := map[string]string{}
		members(raw, func(k, v []byte) { m[str(quoted(k))] = str(v) })
		return m
	case '"':
		if inner := embeddedJSON(str(raw)); inner != nil && inner[0] == '{' {
			return strMap(inner)
		}
	}
	return nil
}

// quoted turns a key as members yields it back into a string literal.
func quoted(key []byte) []byte {
	q := make([]byte, 0, len(key)+2)
	q = append(q, '"')
	q = append(q, key...)
	return append(q, '"')
}

// embeddedJSON returns the JSON object or array a string value holds, or
// nil when it holds none (claims, policies and impactedServices are sent
// this way).
func embeddedJSON(s string) []byte {
	s = strings.TrimSpace(s)
	if s == "" || (s[0] != '[' && s[0] != '{') {
		return nil
	}
	b := []byte(s)
	if !json.Valid(b) {
		return nil
	}
	return b
}

// composite returns an array or object value as is, or the array or
// object a string value holds; nil otherwise.
func composite(raw []byte) []byte {
	if len(raw) > 0 && (raw[0] == '[' || raw[0] == '{') {
		return raw
	}
	if len(raw) > 0 && raw[0] == '"' {
		return embeddedJSON(str(raw))
	}
	return nil
}

// timeLayouts are tried in order after RFC 3339. Layouts without a zone
// are read as UTC, which is what Azure means by them.
var timeLayouts = []string{
	"2006-01-02T15:04:05",       // no zone; any fraction is accepted
	"2006-01-02T15:04:05Z0700",  // zone without colon
	"2006-01-02 15:04:05Z07:00", // space instead of T
	"2006-01-02 15:04:05",       // space, no zone
	"1/2/2006 3:04:05 PM",       // US format seen in log alert contexts
	"1/2/2006 3:04 PM",          // US format without seconds
	"1/2/2006 15:04:05",         // US date, 24-hour clock
	time.RFC1123,                // "Wed, 21 Aug 2019 16:17:47 GMT"
	time.RFC1123Z,               // "Wed, 21 Aug 2019 16:17:47 +0000"
	"2006-01-02",                // a date alone
}

// parseTime reads s as RFC 3339 (any fraction, with or without zone, such
// as Azure's "2025-04-15T18:17:12.8518765Z"), the US "M/D/YYYY h:mm:ss AM"
// format, RFC 1123, .NET "/Date(ms)/", or epoch seconds or milliseconds
// written as digits. It returns UTC, or the zero time when s is none of
// these or lies outside years 1-9999.
func parseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return inRange(t)
	}
	if strings.HasPrefix(s, "/Date(") && strings.HasSuffix(s, ")/") {
		ms := s[len("/Date(") : len(s)-len(")/")]
		if i := strings.IndexAny(ms[min(1, len(ms)):], "+-"); i >= 0 {
			ms = ms[:i+1] // drop a trailing zone offset
		}
		if v, ok := parseFloat(ms); ok && math.Abs(v) < 1e15 {
			return inRange(time.UnixMilli(int64(v)))
		}
		return time.Time{}
	}
	if isDigits(s) {
		if v, ok := parseFloat(s); ok {
			return epoch(v)
		}
		return time.Time{}
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return inRange(t)
		}
	}
	return time.Time{}
}

// epoch reads v as Unix seconds, milliseconds, microseconds or
// nanoseconds, whichever gives a plausible date.
func epoch(v float64) time.Time {
	if v <= 0 || v >= 1e19 {
		return time.Time{}
	}
	switch {
	case v < 1e11:
		sec, frac := math.Modf(v)
		return inRange(time.Unix(int64(sec), int64(frac*1e9)))
	case v < 1e14:
		return inRange(time.UnixMilli(int64(v)))
	case v < 1e17:
		return inRange(time.UnixMicro(int64(v)))
	default:
		return inRange(time.Unix(0, int64(v)))
	}
}

// inRange converts t to UTC and drops it when JSON could not carry it.
func inRange(t time.Time) time.Time {
	t = t.UTC()
	if y := t.Year(); y < 1 || y > 9999 {
		return time.Time{}
	}
	return t
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// parseMoney reads an amount such as "$11,111.00", "1.234,50 €", "50" or
// "USD 12.5". It returns false when no number is present.
func parseMoney(s string) (float64, bool) {
	var b strings.Builder
	for _, r := range s {
		if (r >= '0' && r <= '9') || r == '.' || r == ',' || r == '-' {
			b.WriteRune(r)
		}
	}
	t := b.String()
	lastDot, lastComma := strings.LastIndexByte(t, '.'), strings.LastIndexByte(t, ',')
	switch {
	case lastDot >= 0 && lastComma >= 0:
		if lastComma > lastDot { // 1.234,50
			t = strings.ReplaceAll(t, ".", "")
			t = strings.Replace(t, ",", ".", 1)
		} else { // 1,234.50
			t = strings.ReplaceAll(t, ",", "")
		}
	case lastComma >= 0:
		if strings.Count(t, ",") == 1 && len(t)-lastComma-1 != 3 { // 50,00
			t = strings.Replace(t, ",", ".", 1)
		} else { // 11,111 or 1,234,567
			t = strings.ReplaceAll(t, ",", "")
		}
	}
	return parseFloat(t)
}
