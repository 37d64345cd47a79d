package rest

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// StatusList is a list of HTTP statuses as the operator wrote them: codes
// (201) or classes ("5xx"). HCL turns numbers in a list(string) into
// strings; StatusList also accepts JSON numbers, for configurations built in
// code.
type StatusList []string

// UnmarshalJSON accepts strings and numbers.
func (l *StatusList) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if raw == nil {
		*l = nil
		return nil
	}
	out := make(StatusList, 0, len(raw))
	for _, r := range raw {
		var s string
		if err := json.Unmarshal(r, &s); err == nil {
			out = append(out, s)
			continue
		}
		var n json.Number
		if err := json.Unmarshal(r, &n); err != nil {
			return fmt.Errorf("status %s is neither a string nor a number", r)
		}
		out = append(out, n.String())
	}
	*l = out
	return nil
}

// statusSet matches statuses against codes and classes.
type statusSet struct {
	codes   map[int]bool
	classes map[int]bool // 2 for "2xx"
}

// parseStatuses compiles a status list. The error names the bad entry.
func parseStatuses(list []string) (statusSet, error) {
	s := statusSet{codes: map[int]bool{}, classes: map[int]bool{}}
	for _, e := range list {
		v := strings.ToLower(strings.TrimSpace(e))
		if len(v) == 3 && strings.HasSuffix(v, "xx") && v[0] >= '1' && v[0] <= '5' {
			s.classes[int(v[0]-'0')] = true
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 100 || n > 599 {
			return s, fmt.Errorf("%q is not an HTTP status (100 … 599) or class (\"2xx\" … \"5xx\")", e)
		}
		s.codes[n] = true
	}
	return s, nil
}

// has reports whether status is in the set.
func (s statusSet) has(status int) bool {
	return s.codes[status] || s.classes[status/100]
}
