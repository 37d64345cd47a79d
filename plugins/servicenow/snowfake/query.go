package snowfake

import (
	"fmt"
	"sort"
	"strings"
	"unicode"
)

// query is a parsed encoded query (sysparm_query): an AND of OR-groups plus
// ordering terms. `a=1^b=2^ORc=3` means a=1 AND (b=2 OR c=3), as on an
// instance.
type query struct {
	groups [][]condition
	order  []orderTerm
	// script: a condition's value was server-side script ("javascript:"),
	// which an instance evaluates; the fake reads it as an empty result.
	script bool
}

type condition struct {
	field, op, value string
}

type orderTerm struct {
	field string
	desc  bool
}

// operators are tried longest first so that "!=" is not read as "=" and
// "ISNOTEMPTY" not as "IN".
var operators = []string{"ISNOTEMPTY", "ISEMPTY", "STARTSWITH", "ENDSWITH", "NOTLIKE", "LIKE", "!=", "=", "IN"}

// parseQuery parses the subset of the encoded query language the fake
// supports. Unlike an instance, which silently ignores what it cannot parse
// (and then returns every row), the fake rejects it so tests notice.
func parseQuery(s string) (query, error) {
	var q query
	if s == "" {
		return q, nil
	}
	for _, term := range strings.Split(s, "^") {
		if term == "" {
			continue
		}
		switch {
		case strings.HasPrefix(term, "ORDERBYDESC"):
			q.order = append(q.order, orderTerm{field: strings.TrimPrefix(term, "ORDERBYDESC"), desc: true})
			continue
		case strings.HasPrefix(term, "ORDERBY"):
			q.order = append(q.order, orderTerm{field: strings.TrimPrefix(term, "ORDERBY")})
			continue
		case term == "EQ":
			continue
		case strings.HasPrefix(term, "NQ"):
			return q, fmt.Errorf("snowfake: ^NQ is not supported in %q", s)
		}
		or := false
		if strings.HasPrefix(term, "OR") {
			or = true
			term = strings.TrimPrefix(term, "OR")
		}
		c, err := parseCondition(term)
		if err != nil {
			return q, err
		}
		if isScript(c.value) {
			q.script, c.value = true, ""
		}
		if or && len(q.groups) > 0 {
			last := len(q.groups) - 1
			q.groups[last] = append(q.groups[last], c)
		} else {
			q.groups = append(q.groups, []condition{c})
		}
	}
	return q, nil
}

func parseCondition(term string) (condition, error) {
	i := 0
	for i < len(term) && isFieldByte(term[i]) {
		i++
	}
	if i == 0 {
		return condition{}, fmt.Errorf("snowfake: query term %q has no field name", term)
	}
	field, rest := term[:i], term[i:]
	for _, op := range operators {
		if strings.HasPrefix(rest, op) {
			return condition{field: field, op: op, value: rest[len(op):]}, nil
		}
	}
	return condition{}, fmt.Errorf("snowfake: query term %q uses an unsupported operator", term)
}

// isScript reports whether an instance would evaluate value as script: it
// begins with "javascript:", in any case, after leading white space or
// invisible formatting characters.
func isScript(value string) bool {
	v := strings.TrimLeftFunc(value, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r)
	})
	return len(v) >= len("javascript:") && strings.EqualFold(v[:len("javascript:")], "javascript:")
}

func isFieldByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '_' || b == '.'
}

// matches reports whether rec satisfies every group. String comparison is
// case-insensitive, like an instance on its default collation.
func (q query) matches(rec map[string]string) bool {
	for _, group := range q.groups {
		ok := false
		for _, c := range group {
			if c.matches(rec) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func (c condition) matches(rec map[string]string) bool {
	v := strings.ToLower(rec[c.field])
	want := strings.ToLower(c.value)
	switch c.op {
	case "=":
		return v == want
	case "!=":
		return v != want
	case "LIKE":
		return strings.Contains(v, want)
	case "NOTLIKE":
		return !strings.Contains(v, want)
	case "STARTSWITH":
		return strings.HasPrefix(v, want)
	case "ENDSWITH":
		return strings.HasSuffix(v, want)
	case "ISEMPTY":
		return v == ""
	case "ISNOTEMPTY":
		return v != ""
	case "IN":
		for _, x := range strings.Split(want, ",") {
			if v == x {
				return true
			}
		}
	}
	return false
}

// sortRecords orders recs by the query's ORDERBY terms, then by insertion.
func (q query) sortRecords(recs []*record) {
	sort.SliceStable(recs, func(i, j int) bool {
		for _, o := range q.order {
			a, b := recs[i].fields[o.field], recs[j].fields[o.field]
			if a == b {
				continue
			}
			if o.desc {
				return a > b
			}
			return a < b
		}
		return recs[i].seq < recs[j].seq
	})
}
