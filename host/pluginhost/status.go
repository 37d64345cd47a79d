package pluginhost

import (
	"context"
	"fmt"

	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/hostside"
)

// MaxStatusBatch is the most work items one ReadStatus call may carry for
// the plugin with its current configuration: what its Info reported after
// the last successful Configure, or sdk.DefaultMaxStatusBatch.
func (b *Backend) MaxStatusBatch() int {
	if c := b.configuredInfo.Load(); c != nil {
		return c.StatusBatch()
	}
	return b.info.StatusBatch()
}

// ReadStatus implements sdk.StatusReader. A request of more items than
// MaxStatusBatch is refused without a call; a plugin without the
// capability answers a permanent error (hostside.Client). What the plugin
// answers is redacted, then checked against the limits on a work item's
// strings: a status over them is a permanent error naming the field.
func (b *Backend) ReadStatus(ctx context.Context, req *sdk.StatusRequest) ([]sdk.WorkItemStatus, error) {
	if req != nil && len(req.Items) > b.MaxStatusBatch() {
		return nil, sdk.Permanent(fmt.Errorf("backend %s: read_status: %d work items asked for; plugin %q reads at most %d per call",
			b.ref, len(req.Items), b.info.Name, b.MaxStatusBatch()))
	}
	var out []sdk.WorkItemStatus
	_, err := b.sup.call(ctx, "read_status", func(c hostside.Client) (*sdk.WorkItem, error) {
		var err error
		out, err = c.ReadStatus(ctx, req)
		return nil, err
	})
	out = b.secrets.statuses(out)
	if _, err := checkAnswer(b.ref, b.info.Name, "read_status", nil, b.secrets.error(err)); err != nil {
		return nil, err
	}
	for i := range out {
		if err := checkStatus(&out[i]); err != nil {
			return nil, sdk.Permanent(fmt.Errorf("backend %s: plugin %q answered read_status with a status the host does not take: statuses[%d] (work item %q): %w",
				b.ref, b.info.Name, i, truncate(out[i].ID, 64), err))
		}
	}
	return out, nil
}

// checkStatus refuses a status with a string over MaxWorkItemFieldBytes
// (each field's name and value count together), naming it.
func checkStatus(st *sdk.WorkItemStatus) error {
	fields := []struct {
		name, value string
	}{{"id", st.ID}, {"state", string(st.State)}, {"resolved_by", st.ResolvedBy}, {"resolution", st.Resolution}}
	size := 0
	for k, v := range st.Fields {
		fields = append(fields, struct{ name, value string }{fmt.Sprintf("fields[%q]", truncate(k, 64)), k + v})
		size += len(k) + len(v)
	}
	for _, f := range fields {
		if len(f.value) > MaxWorkItemFieldBytes {
			return fmt.Errorf("its %s has %d bytes; a status field may have at most %d (%d KiB)", f.name, len(f.value), MaxWorkItemFieldBytes, MaxWorkItemFieldBytes>>10)
		}
	}
	if size > MaxWorkItemBytes {
		return fmt.Errorf("its fields have %d bytes; a status may have at most %d (%d KiB)", size, MaxWorkItemBytes, MaxWorkItemBytes>>10)
	}
	return nil
}

// statuses returns a copy of s with every string redacted: id, state,
// resolved_by, resolution and the fields (names and values).
func (s *secretSet) statuses(in []sdk.WorkItemStatus) []sdk.WorkItemStatus {
	if len(in) == 0 || s.red.Load().Empty() {
		return in
	}
	r := s.replace
	out := make([]sdk.WorkItemStatus, len(in))
	for i, st := range in {
		st.ID, st.ResolvedBy, st.Resolution = r(st.ID), r(st.ResolvedBy), r(st.Resolution)
		st.State = sdk.WorkItemState(r(string(st.State)))
		if st.Fields != nil {
			f := make(map[string]string, len(st.Fields))
			for k, v := range st.Fields {
				f[r(k)] = r(v)
			}
			st.Fields = f
		}
		out[i] = st
	}
	return out
}
