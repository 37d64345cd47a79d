package route

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/itsm-connector/itsm-connector/host/alertvalue"
)

var unsupportedAttr = regexp.MustCompile(`^This object does not have an attribute named "([^"]+)"\.$`)

// addSuggestions appends "Did you mean …?" to diagnostics about an
// attribute the alert object does not have, choosing the closest name
// among alert's fields at any depth.
func addSuggestions(diags hcl.Diagnostics) {
	for _, d := range diags {
		m := unsupportedAttr.FindStringSubmatch(d.Detail)
		if m == nil {
			continue
		}
		if s := closestField(m[1]); s != "" {
			d.Detail = strings.TrimSuffix(d.Detail, ".") + fmt.Sprintf(". Did you mean %q?", s)
		}
		d.Detail += " The alert's fields are listed in docs/alert-fields.md."
	}
}

// closestField returns the alert field name nearest to name by edit
// distance, or "" when none is close.
func closestField(name string) string {
	best, bestDist := "", min(3, len(name)/2+1)+1
	for _, n := range fieldNames() {
		if d := editDistance(name, n); d < bestDist {
			best, bestDist = n, d
		}
	}
	return best
}

func fieldNames() []string {
	seen := map[string]bool{}
	var out []string
	for _, f := range alertvalue.Fields() {
		n := f.Path[strings.LastIndexByte(f.Path, '.')+1:]
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
