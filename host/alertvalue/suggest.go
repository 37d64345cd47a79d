package alertvalue

import (
	"sort"
	"strings"
)

// closest returns the name in names nearest to name by edit distance, or
// "" when none is close.
func closest(name string, names []string) string {
	best, bestDist := "", min(3, len(name)/2+1)+1
	for _, n := range names {
		if d := editDistance(name, n); d < bestDist {
			best, bestDist = n, d
		}
	}
	return best
}

// closestPath returns the path of the alert field, at any depth, whose
// name is nearest to name ("metric.dimensions" for "dimensions"), or "".
func closestPath(name string) string {
	paths := map[string]string{} // last name → first path with it
	var names []string
	for _, f := range Fields() {
		n := f.Path[strings.LastIndexByte(f.Path, '.')+1:]
		if _, ok := paths[n]; !ok {
			paths[n] = f.Path
			names = append(names, n)
		}
	}
	sort.Strings(names)
	if n := closest(name, names); n != "" {
		return paths[n]
	}
	return ""
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

// Closest returns the name of names nearest to name (a misspelling of it),
// or "" when none is near: the suggestion of a "Did you mean" hint.
func Closest(name string, names []string) string { return closest(name, names) }
