// Package sdkredact replaces secret values in text before it reaches a log,
// an error, a dead letter or a page: the host runs every error, diagnostic,
// log line and work item a plugin sends it through a [Redactor] built from
// the values its schema marks sensitive, and a plugin may use the same
// redactor on what it builds from an ITSM tool's answers (an echoed request,
// a token endpoint's error).
//
// A value is found in each of the forms an echo takes (see [New]): as
// written, URL-, JSON-, hex- and base64-encoded, in any letter case, and cut
// short. Everything here is pure and safe for concurrent use.
package sdkredact

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Marker replaces each secret found.
const Marker = "[redacted]"

// Length thresholds, in bytes (characters for ASCII values).
const (
	// MinLen is the shortest value replaced in every encoding. Shorter
	// encodings would also match ordinary text, and their hex or base64
	// forms are a handful of characters.
	MinLen = 8
	// MinTextLen is the shortest value replaced at all. A value of
	// MinTextLen to MinLen-1 bytes is replaced only as written (in any
	// letter case); a shorter one is not replaced: three characters occur
	// in ordinary words, and such a value is no secret anyway.
	MinTextLen = 4
)

// Coverage says in which forms a Redactor replaces a value.
type Coverage int

// Coverages, from none to every encoding.
const (
	// CoverNone: shorter than MinTextLen, or empty; never replaced.
	CoverNone Coverage = iota
	// CoverText: MinTextLen to MinLen-1 bytes; replaced as written only.
	CoverText
	// CoverAll: MinLen bytes or more; replaced in every form.
	CoverAll
)

// CoverageOf says how a Redactor treats v.
func CoverageOf(v string) Coverage {
	switch {
	case len(v) >= MinLen:
		return CoverAll
	case len(v) >= MinTextLen:
		return CoverText
	}
	return CoverNone
}

// PrefixLen is the shortest beginning of v that is replaced on its own,
// for an echo that cut the value short: half of v, at least MinLen bytes,
// rounded up to a character boundary. A longer beginning is replaced as
// far as it goes. It is len(v) when v is too short to be cut (CoverAll
// values of fewer than MinLen+1 bytes) and 0 for values below CoverAll.
//
// Half, not a fixed MinLen: many secrets begin alike (a JWT's "eyJhbGci",
// "https://" of a webhook URL, "postgres://user:" of a DSN), and a
// beginning that common would be cut out of every URL and token in the
// text. The half left unknown is still a secret.
func PrefixLen(v string) int {
	if CoverageOf(v) != CoverAll {
		return 0
	}
	p := max(MinLen, (len(v)+1)/2)
	for p < len(v) && !utf8.RuneStart(v[p]) {
		p++
	}
	return p
}

// pattern is one encoded form of a secret, folded to lower case: a match
// counts from min bytes on and extends as far as the text follows it.
type pattern struct {
	text string
	min  int
}

// An encoder turns a value into one of its echoed forms. Each maps a
// value's beginning to a beginning of its form, so that the encoded
// beginning of a secret tells how much of its form a cut echo must show.
type encoder func(string) string

// encoders are the forms of a CoverAll value besides base64, which depends
// on its position (see base64Forms).
var encoders = []encoder{
	func(s string) string { return s },
	url.QueryEscape,
	url.PathEscape,
	percentAll,
	func(s string) string { return jsonEscape(s, true) },
	func(s string) string { return jsonEscape(s, false) },
	func(s string) string { return strings.ReplaceAll(jsonEscape(s, false), "/", `\/`) },
	jsonUnicode,
	func(s string) string { return hex.EncodeToString([]byte(s)) },
}

// patterns lists the forms of v, each with the length of its PrefixLen
// beginning as the shortest match.
func patterns(v string) []pattern {
	switch CoverageOf(v) {
	case CoverNone:
		return nil
	case CoverText:
		return []pattern{{text: fold(v), min: len(v)}}
	}
	p := PrefixLen(v)
	var out []pattern
	for _, enc := range encoders {
		out = append(out, pattern{text: fold(enc(v)), min: len(enc(v[:p]))})
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		for align := range 3 {
			text, _ := base64Form(enc, align, v)
			_, min := base64Form(enc, align, v[:p])
			out = append(out, pattern{text: fold(text), min: min})
		}
	}
	return out
}

// base64Form is v's base64 encoding as part of a longer encoded string in
// which align bytes (0 to 2) precede v within its 3-byte group, as in
// "user:password" for Basic auth: the characters that depend on v alone
// and, when v ends the encoded bytes, the padded tail. determined is how
// many leading characters depend on v alone; a match needs them all.
func base64Form(enc *base64.Encoding, align int, v string) (text string, determined int) {
	buf := make([]byte, align+len(v))
	copy(buf[align:], v)
	// The first align bytes fill whole characters and leak bits into the
	// next one: 0, 2 or 3 characters depend on what precedes v.
	skip := [3]int{0, 2, 3}[align]
	full := len(buf) * 8 / 6
	return enc.EncodeToString(buf)[skip:], full - skip
}

// percentAll percent-encodes every byte of s, as some clients do.
func percentAll(s string) string {
	var b strings.Builder
	for i := range len(s) {
		fmt.Fprintf(&b, "%%%02X", s[i])
	}
	return b.String()
}

// jsonEscape is s as the inside of a JSON string, with <, > and & as
// \u escapes (Go's default) or not.
func jsonEscape(s string, html bool) string {
	var b strings.Builder
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(html)
	if err := e.Encode(s); err != nil {
		return s
	}
	out := strings.TrimSuffix(b.String(), "\n")
	return out[1 : len(out)-1]
}

// jsonUnicode is s with every character as a JSON \u escape (UTF-16,
// surrogate pairs beyond the BMP).
func jsonUnicode(s string) string {
	var b strings.Builder
	for _, r := range s {
		for _, u := range utf16.Encode([]rune{r}) {
			fmt.Fprintf(&b, `\u%04x`, u)
		}
	}
	return b.String()
}

// foldByte lower-cases an ASCII letter.
func foldByte(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func fold(s string) string {
	b := []byte(s)
	for i, c := range b {
		b[i] = foldByte(c)
	}
	return string(b)
}
