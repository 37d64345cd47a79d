package rest

import (
	"fmt"
	"strings"
)

// later is load-time text with ${...} references that the plugin fills in
// during a call, with values only it knows then: the id find_ci found
// (find_ci.body_value) or the work item as the answer gives it
// (result.url_template). Operators write the references as $${...}, HCL's
// escape for a literal "${", so the host leaves them for the plugin; there
// is no other syntax (no functions, no expressions).
type later struct {
	// text alternates literal text and references: text[0], refs[0],
	// text[1], refs[1], …, text[len(refs)].
	text []string
	refs []string
}

// parseLater parses s, accepting the references known says it knows.
func parseLater(s string, known func(string) bool) (*later, error) {
	l := &later{}
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			l.text = append(l.text, s)
			return l, nil
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return nil, fmt.Errorf("%q has a \"${\" without its \"}\"", s)
		}
		ref := strings.TrimSpace(s[i+2 : i+j])
		if !known(ref) {
			return nil, fmt.Errorf("${%s} is not a value the plugin can fill in here", ref)
		}
		l.text = append(l.text, s[:i])
		l.refs = append(l.refs, ref)
		s = s[i+j+1:]
	}
}

// expand fills in the references from vars, each through escape. It fails
// naming the first reference vars has no value for.
func (l *later) expand(vars map[string]string, escape func(string) string) (string, error) {
	var b strings.Builder
	for i, ref := range l.refs {
		v, ok := vars[ref]
		if !ok || v == "" {
			return "", fmt.Errorf("${%s} has no value for this work item", ref)
		}
		b.WriteString(l.text[i])
		b.WriteString(escape(v))
	}
	b.WriteString(l.text[len(l.refs)])
	return b.String(), nil
}

// attributesRefPrefix starts a reference to a kept result attribute.
const attributesRefPrefix = "work_item.attributes."

// isWorkItemRef reports whether ref names a value of the work item as an
// answer gives it: its id, its key or a result attribute.
func isWorkItemRef(ref string) bool {
	if name, ok := strings.CutPrefix(ref, attributesRefPrefix); ok {
		return attributeNameRE.MatchString(name)
	}
	return ref == "work_item.id" || ref == "work_item.key"
}
