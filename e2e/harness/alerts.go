package harness

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// ResolveAfter is how long after firing a generated alert resolves.
const ResolveAfter = 10 * time.Minute

// RefireAfter is how much later than the first a generated alert's second
// Fired notification (Alert.Refired) says it fired; before ResolveAfter.
const RefireAfter = time.Minute

// Alert is one generated alert: its fired and resolved notifications, as
// Azure Monitor sends them (same alertId, resolvedDateTime after
// firedDateTime).
type Alert struct {
	// ID is essentials.alertId: the default correlation key.
	ID string
	// FiredAt and ResolvedAt are the notifications' times.
	FiredAt, ResolvedAt time.Time
	// Fired and Resolved are the payloads.
	Fired, Resolved []byte
	// Refired is a second Fired notification of the alert, its
	// firedDateTime RefireAfter after FiredAt: newer than Fired, older
	// than Resolved, so the host applies it to an open work item as an
	// update.
	Refired []byte
}

// Alerts derives n distinct alerts, numbered first to first+n-1, from a
// Common Alert Schema sample of a fired alert. Alert i keeps everything of
// the sample but its alertId, whose last segment becomes a GUID made from
// i, and its firedDateTime, i seconds after the sample's; its resolved
// notification sets monitorCondition to Resolved and resolvedDateTime
// ResolveAfter later, its refired one moves firedDateTime RefireAfter
// later. The same arguments give the same alerts.
func Alerts(sample []byte, first, n int) ([]Alert, error) {
	var doc map[string]any
	if err := decode(sample, &doc); err != nil {
		return nil, fmt.Errorf("alert sample: %w", err)
	}
	ess, err := essentials(doc)
	if err != nil {
		return nil, err
	}
	id, _ := ess["alertId"].(string)
	cut := strings.LastIndex(id, "/alerts/")
	if cut < 0 {
		return nil, fmt.Errorf("alert sample: essentials.alertId %q does not end in /alerts/<guid>", id)
	}
	prefix := id[:cut+len("/alerts/")]
	fired, err := time.Parse(time.RFC3339Nano, fmt.Sprint(ess["firedDateTime"]))
	if err != nil {
		return nil, fmt.Errorf("alert sample: essentials.firedDateTime: %w", err)
	}
	if cond := fmt.Sprint(ess["monitorCondition"]); cond != "Fired" {
		return nil, fmt.Errorf("alert sample: monitorCondition is %q, want a Fired sample", cond)
	}

	out := make([]Alert, 0, n)
	for i := first; i < first+n; i++ {
		a := Alert{
			ID:      prefix + fmt.Sprintf("e2e00000-0000-4000-8000-%012d", i),
			FiredAt: fired.Add(time.Duration(i) * time.Second).UTC(),
		}
		a.ResolvedAt = a.FiredAt.Add(ResolveAfter)
		ess["alertId"] = a.ID
		ess["firedDateTime"] = a.FiredAt.Format(time.RFC3339Nano)
		ess["monitorCondition"] = "Fired"
		delete(ess, "resolvedDateTime")
		if a.Fired, err = json.Marshal(doc); err != nil {
			return nil, fmt.Errorf("encoding alert %d: %w", i, err)
		}
		ess["firedDateTime"] = a.FiredAt.Add(RefireAfter).Format(time.RFC3339Nano)
		if a.Refired, err = json.Marshal(doc); err != nil {
			return nil, fmt.Errorf("encoding alert %d: %w", i, err)
		}
		ess["firedDateTime"] = a.FiredAt.Format(time.RFC3339Nano)
		ess["monitorCondition"] = "Resolved"
		ess["resolvedDateTime"] = a.ResolvedAt.Format(time.RFC3339Nano)
		if a.Resolved, err = json.Marshal(doc); err != nil {
			return nil, fmt.Errorf("encoding alert %d: %w", i, err)
		}
		out = append(out, a)
	}
	return out, nil
}

// decode keeps numbers as written, so a payload survives the round trip.
func decode(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}

func essentials(doc map[string]any) (map[string]any, error) {
	data, _ := doc["data"].(map[string]any)
	ess, _ := data["essentials"].(map[string]any)
	if ess == nil {
		return nil, fmt.Errorf("alert sample: no data.essentials object")
	}
	return ess, nil
}
