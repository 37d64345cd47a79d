package sdkredact

import (
	"strings"
	"unicode/utf8"
)

// filterBits sizes the bit set that rules out most text positions before
// the index is consulted.
const filterBits = 14

// Redactor replaces a fixed set of secrets in text. Build it with [New];
// the zero value and nil replace nothing.
type Redactor struct {
	// k is the length of the window that finds candidate positions: the
	// shortest match of any pattern, at most 8 bytes.
	k      int
	pats   []pattern
	index  map[uint64][]int32
	filter [1 << filterBits / 64]uint64
}

// New returns a Redactor for values. Each value of MinLen bytes or more is
// replaced, in any letter case (ASCII), in these forms:
//
//   - as written;
//   - URL-encoded: query escaping (url.QueryEscape), path escaping
//     (url.PathEscape), and every byte as %XX;
//   - JSON-escaped: Go's escaping (<, > and & as \u003c…), without the HTML
//     escapes, with "/" as "\/", and every character as \uXXXX;
//   - hex;
//   - base64, standard and URL alphabets, padded or not, on its own or
//     inside a longer base64 string (each of the 3 positions in a 3-byte
//     group, e.g. "user:password" in a Basic auth header): the characters
//     that depend on the value alone;
//   - cut short: a beginning of at least PrefixLen bytes of any form above
//     (an API that echoes the first characters of a credential).
//
// A value of MinTextLen to MinLen-1 bytes is replaced as written only (any
// case), and a shorter one not at all (see [CoverageOf]). Overlapping
// matches are merged into one Marker.
func New(values ...string) *Redactor {
	r := &Redactor{k: 8, index: map[uint64][]int32{}}
	seen := map[string]int{}
	for _, v := range values {
		for _, p := range patterns(v) {
			if i, ok := seen[p.text]; ok {
				r.pats[i].min = min(r.pats[i].min, p.min)
				continue
			}
			seen[p.text] = len(r.pats)
			r.pats = append(r.pats, p)
			r.k = min(r.k, p.min)
		}
	}
	for i, p := range r.pats {
		w := window(p.text, r.k)
		r.index[w] = append(r.index[w], int32(i))
		h := filterHash(w)
		r.filter[h>>6] |= 1 << (h & 63)
	}
	return r
}

// Empty reports whether r replaces nothing.
func (r *Redactor) Empty() bool { return r == nil || len(r.pats) == 0 }

// window packs the first k bytes of folded text s.
func window(s string, k int) uint64 {
	var w uint64
	for i := range k {
		w = w<<8 | uint64(s[i])
	}
	return w
}

func filterHash(w uint64) uint64 { return (w * 0x9E3779B97F4A7C15) >> (64 - filterBits) }

// Replace returns s with every secret of r replaced by Marker. Text without
// any is returned as is, without allocating.
func (r *Redactor) Replace(s string) string {
	if r.Empty() || len(s) < r.k {
		return s
	}
	var spans [][2]int
	mask := ^uint64(0)
	if r.k < 8 {
		mask = 1<<(8*r.k) - 1
	}
	var w uint64
	for i := range len(s) {
		w = (w<<8 | uint64(foldByte(s[i]))) & mask
		if i+1 < r.k {
			continue
		}
		if h := filterHash(w); r.filter[h>>6]&(1<<(h&63)) == 0 {
			continue
		}
		start := i + 1 - r.k
		for _, pi := range r.index[w] {
			p := &r.pats[pi]
			n := commonFolded(s[start:], p.text)
			if n < p.min {
				continue
			}
			end := start + n
			for end < len(s) && !utf8.RuneStart(s[end]) {
				end++
			}
			if last := len(spans) - 1; last >= 0 && start <= spans[last][1] {
				spans[last][1] = max(spans[last][1], end)
			} else {
				spans = append(spans, [2]int{start, end})
			}
		}
	}
	if spans == nil {
		return s
	}
	var b strings.Builder
	prev := 0
	for _, sp := range spans {
		b.WriteString(s[prev:sp[0]])
		b.WriteString(Marker)
		prev = sp[1]
	}
	b.WriteString(s[prev:])
	return b.String()
}

// commonFolded is the length of the common beginning of s, folded, and
// pattern text t (already folded).
func commonFolded(s, t string) int {
	n := min(len(s), len(t))
	for i := range n {
		if foldByte(s[i]) != t[i] {
			return i
		}
	}
	return n
}
