package snowfake

import (
	"time"
)

// Display values (sysparm_display_value): what an instance shows a person
// for a field, next to the value it stores.
//
//   - choice fields show their label (incident state 6 is "Resolved");
//   - reference fields show the referenced record's display field (a
//     sys_user's name, a group's name, a CI's name), "" when it is gone;
//   - date-time fields show the time in the instance's time zone, in its
//     format; their value is UTC. The fake's zone is US/Pacific standard
//     time (an instance's default system time zone), so a client that reads
//     display values for times is visibly wrong;
//   - every other field shows its value.

// instanceZone is the fake instance's time zone for display values.
var instanceZone = time.FixedZone("PST", -8*60*60)

// dateTimeFields are the glide_date_time fields of every table.
var dateTimeFields = map[string]bool{
	"sys_created_on": true, "sys_updated_on": true, "opened_at": true,
	"resolved_at": true, "closed_at": true, "reopened_time": true,
}

// choiceLabels are the labels of choice fields, per table and field.
var choiceLabels = map[string]map[string]map[string]string{
	"incident": {
		"state": {
			"1": "New", "2": "In Progress", "3": "On Hold",
			"6": "Resolved", "7": "Closed", "8": "Canceled",
		},
		"impact":   {"1": "1 - High", "2": "2 - Medium", "3": "3 - Low"},
		"urgency":  {"1": "1 - High", "2": "2 - Medium", "3": "3 - Low"},
		"priority": {"1": "1 - Critical", "2": "2 - High", "3": "3 - Moderate", "4": "4 - Low", "5": "5 - Planning"},
	},
}

// displayFieldOf is the display field of each referenced table.
var displayFieldOf = map[string]string{
	"sys_user": "name", "sys_user_group": "name", "cmdb_ci": "name", "task": "number",
}

// displayLocked is the display value of field of a record of table.
func (s *Server) displayLocked(table, field, value string) string {
	if value == "" {
		return ""
	}
	if labels, ok := choiceLabels[table][field]; ok {
		if l, ok := labels[value]; ok {
			return l
		}
		return value
	}
	if ref, ok := referenceFields[table][field]; ok {
		if r := s.findLocked(ref, value); r != nil {
			return r.fields[displayFieldOf[ref]]
		}
		return ""
	}
	if dateTimeFields[field] {
		if t, err := time.Parse("2006-01-02 15:04:05", value); err == nil {
			return t.In(instanceZone).Format("2006-01-02 15:04:05")
		}
	}
	return value
}

// renderDisplayLocked renders one field for sysparm_display_value=true
// (the display value; a reference {"display_value","link"} unless links
// are excluded) or all ({"display_value","value"}, plus "link" for a
// reference unless excluded).
func (s *Server) renderDisplayLocked(rec *record, name, value, mode string, excludeLinks bool) any {
	d := s.displayLocked(rec.table, name, value)
	ref, isRef := referenceFields[rec.table][name]
	link := ""
	if isRef && value != "" && !excludeLinks {
		link = s.URL + "/api/now/table/" + ref + "/" + value
	}
	if mode == "all" {
		m := map[string]string{"display_value": d, "value": value}
		if link != "" {
			m["link"] = link
		}
		return m
	}
	if link != "" {
		return map[string]string{"display_value": d, "link": link}
	}
	return d
}
