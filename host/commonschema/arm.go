package commonschema

import (
	"strings"

	"github.com/itsm-connector/itsm-connector/sdk"
)

// parseResource takes an ARM resource id apart:
//
//	/subscriptions/{sub}/resourceGroups/{rg}/providers/{namespace}/{type}/{name}[/{subtype}/{subname}…]
//
// ResourceType is the type below the namespace (nested types joined by
// "/"), Name the last name. A subscription or resource group id yields
// type "subscriptions" or "resourceGroups" and its own name. Case is kept
// as sent: Azure treats ids case-insensitively and sends them in either
// case. Anything not shaped like an ARM id yields only ID and, when it has
// one, a last segment as Name.
func parseResource(id string) sdk.Resource {
	r := sdk.Resource{ID: id}
	segs := strings.Split(strings.Trim(id, "/"), "/")
	if len(segs) == 0 || segs[0] == "" {
		return r
	}
	var typ []string
	for i := 0; i < len(segs); i++ {
		key := segs[i]
		var val string
		if i+1 < len(segs) {
			val = segs[i+1]
		}
		switch {
		case strings.EqualFold(key, "subscriptions") && r.Provider == "" && r.Subscription == "":
			r.Subscription, r.ResourceType, r.Name = val, key, val
			i++
		case strings.EqualFold(key, "resourceGroups") && r.Provider == "" && r.ResourceGroup == "":
			r.ResourceGroup, r.ResourceType, r.Name = val, key, val
			i++
		case strings.EqualFold(key, "providers") && val != "":
			// Extension resources repeat "providers"; the last one names
			// the resource the id points at.
			r.Provider, typ, r.Name = val, typ[:0], ""
			i++
		case r.Provider != "":
			typ = append(typ, key)
			r.Name = val
			i++
		default:
			r.Name = key
		}
	}
	if r.Provider != "" {
		r.ResourceType = strings.Join(typ, "/")
	}
	if r.Name == "" {
		r.Name = lastSegment(id)
	}
	return r
}

// lastSegment is the part of an ARM id after its last "/", ignoring a
// trailing slash.
func lastSegment(id string) string {
	id = strings.TrimRight(id, "/")
	return id[strings.LastIndexByte(id, '/')+1:]
}

// isARMID reports whether s looks like an ARM resource id rather than a name.
func isARMID(s string) bool {
	return len(s) > len("/subscriptions/") && s[0] == '/' &&
		strings.EqualFold(s[1:len("/subscriptions/")], "subscriptions/")
}

// configurationItems pairs every configuration item name with the full
// ARM id of the target it names, so a plugin can bind by id first and by
// name second. Names come from configurationItems when Azure sends any,
// else from the targets' last segments. A name matches the target whose
// last segment equals it case-insensitively; a name that is itself an ARM
// id becomes its last segment beside the id; a name no target matches
// (e.g. the computer a log alert found inside a workspace) keeps an empty
// id. Duplicates are dropped.
func configurationItems(names, targets []string) []sdk.ConfigurationItem {
	var out []sdk.ConfigurationItem
	type key struct{ name, id string } // both lower-case
	seen := map[key]struct{}{}
	add := func(ci sdk.ConfigurationItem, k key) {
		if _, dup := seen[k]; dup {
			return
		}
		seen[k] = struct{}{}
		out = append(out, ci)
	}
	lowerTargets := make([]string, len(targets))
	for i, t := range targets {
		lowerTargets[i] = strings.ToLower(t)
	}
	if len(names) == 0 {
		for i, t := range targets {
			add(sdk.ConfigurationItem{Name: lastSegment(t), ResourceID: t}, key{lastSegment(lowerTargets[i]), lowerTargets[i]})
		}
		return nonNilCIs(out)
	}
	byName := make(map[string]int, len(targets)) // lower-case last segment → first target with it
	for i := range targets {
		if k := lastSegment(lowerTargets[i]); k != "" {
			if _, ok := byName[k]; !ok {
				byName[k] = i
			}
		}
	}
	for _, n := range names {
		if isARMID(n) {
			l := strings.ToLower(n)
			add(sdk.ConfigurationItem{Name: lastSegment(n), ResourceID: n}, key{lastSegment(l), l})
			continue
		}
		l := strings.ToLower(n)
		if i, ok := byName[l]; ok {
			add(sdk.ConfigurationItem{Name: n, ResourceID: targets[i]}, key{l, lowerTargets[i]})
		} else {
			add(sdk.ConfigurationItem{Name: n}, key{l, ""})
		}
	}
	return nonNilCIs(out)
}

func nonNilCIs(cis []sdk.ConfigurationItem) []sdk.ConfigurationItem {
	if cis == nil {
		return []sdk.ConfigurationItem{}
	}
	return cis
}
