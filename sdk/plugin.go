package sdk

import (
	"context"
	"slices"
	"time"
)

// Plugin is what every plugin implements. The optional lifecycle interfaces
// ([Looker], [Updater], [Resolver], [Reopener]) and [StatusReader] are
// discovered by type assertion; what a plugin implements becomes its
// [Capabilities].
type Plugin interface {
	// Info describes the plugin: name, version and the schema of its
	// configuration. It is called before Configure and must not depend on
	// it, except ReadAfterWriteDelay, MaxStatusBatch and Capabilities, which
	// the host reads again after every Configure.
	Info(ctx context.Context) (Info, error)
	// Configure receives the backend's `config {}` block, already decoded and
	// type-checked by the host against the schema from Info. Semantic problems
	// are returned as Diagnostics, each naming the attribute path at fault.
	Configure(ctx context.Context, cfg Config) error
	// Create opens a new work item for req.Alert, stamped with
	// req.CorrelationKey so that Lookup can find it again.
	Create(ctx context.Context, req *Request) (*WorkItem, error)
}

// Looker finds the work item stamped with a correlation key. It lets the
// host recover when it crashed after a Create succeeded remotely but before
// it recorded the result: without it the host cannot rule out a duplicate.
type Looker interface {
	// Lookup returns the newest work item stamped with req.CorrelationKey, or
	// (nil, nil) when there is none.
	Lookup(ctx context.Context, req *Request) (*WorkItem, error)
}

// Updater adds new information to an open work item when its alert fires
// again (typically a comment or work note).
type Updater interface {
	Update(ctx context.Context, req *Request) (*WorkItem, error)
}

// Resolver resolves or closes req.Ref when its alert resolves.
type Resolver interface {
	Resolve(ctx context.Context, req *Request) (*WorkItem, error)
}

// Reopener reopens a resolved req.Ref when its alert fires again inside the
// route's reopen window. Without it the host creates a new work item instead.
type Reopener interface {
	Reopen(ctx context.Context, req *Request) (*WorkItem, error)
}

// Request is everything a lifecycle call needs. The host fills it; a plugin
// only reads it.
type Request struct {
	// CorrelationKey identifies the work item across calls and restarts.
	// It may be long; plugins whose backend field is short hash it.
	CorrelationKey string `json:"correlation_key"`
	// Alert is the notification that caused this call.
	Alert Alert `json:"alert"`
	// Fields are the route's `fields` rendered for this alert.
	Fields map[string]any `json:"fields,omitempty"`
	// Values are the plugin's own per-alert schema attributes rendered for
	// this alert; decode them with Values.Decode.
	Values Values `json:"values,omitempty"`
	// ConfigurationItems are the CIs this work item covers: all of the
	// alert's, or exactly one when the route sets per_ci.
	ConfigurationItems []ConfigurationItem `json:"configuration_items,omitempty"`
	// Ref is the work item the host recorded; nil for Lookup and Create.
	Ref *WorkItem `json:"ref,omitempty"`
	// Note is what the host's lifecycle policy says with this call, e.g.
	// that the alert is flapping and further changes are not sent. A
	// plugin whose Update adds a comment or note puts it there (in place
	// of its usual text); empty for an ordinary call.
	Note string `json:"note,omitempty"`
	// FieldPolicy says, for the fields the route's field_policy governs
	// (route fields and per-alert attributes, by name), whether this call
	// writes them. It is the policy in effect for this call, as the host
	// resolved it: "never_after_human" arrives as FieldAlways until a
	// person edits the field in the tool and as FieldCreate after that,
	// and FieldComment only on a call whose value differs from the one
	// last written. A field not named here is written as the plugin always
	// did. Plugins that apply it declare Capabilities.FieldPolicy; read it
	// with Writes and Comments.
	FieldPolicy map[string]FieldPolicy `json:"field_policy,omitempty"`
}

// FieldPolicy is when a field is written to the work item (see
// Request.FieldPolicy).
type FieldPolicy string

// Field policies. Create writes every field whatever its policy.
const (
	// FieldCreate: written when the work item is created, never after.
	FieldCreate FieldPolicy = "create"
	// FieldAlways: written on create and on every Update and Reopen.
	FieldAlways FieldPolicy = "always"
	// FieldComment: written on create; on this Update or Reopen its new
	// value goes into the comment or work note the call adds, not into the
	// field.
	FieldComment FieldPolicy = "comment"
)

// Writes reports whether the call writes field: every field on create
// (onCreate), and on Update and Reopen a field whose policy is FieldAlways.
// A field without a policy is written on create only; a plugin that writes
// some fields on every call by its own design checks Request.FieldPolicy
// for them itself.
func (r *Request) Writes(field string, onCreate bool) bool {
	return onCreate || r.FieldPolicy[field] == FieldAlways
}

// Comments reports whether the call (an Update or Reopen) puts field's new
// value into its comment or work note instead of writing the field.
func (r *Request) Comments(field string) bool {
	return r.FieldPolicy[field] == FieldComment
}

// Commented lists, sorted, the fields whose new values this call puts into
// its comment or work note.
func (r *Request) Commented() []string {
	var out []string
	for f, p := range r.FieldPolicy {
		if p == FieldComment {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return out
}

// Info describes a plugin to the host.
type Info struct {
	// Name is the plugin's short name, e.g. "servicenow".
	Name string `json:"name"`
	// Version is the plugin's own release version.
	Version string `json:"version"`
	// APIVersions lists the protocol versions the plugin speaks; Serve fills
	// it when empty.
	APIVersions []int `json:"api_versions,omitempty"`
	// Capabilities are filled by Serve from the interfaces the plugin
	// implements (limited by a [CapabilityReporter]), merged with any the
	// plugin sets itself (Comment, CMDB). The host reads them again after
	// each successful Configure.
	Capabilities Capabilities `json:"capabilities"`
	// Schema declares the plugin's `config {}` block.
	Schema Schema `json:"schema"`
	// ReadAfterWriteDelay is how long a new work item may take to become
	// visible to Lookup, for a backend whose search is eventually
	// consistent; zero when Lookup sees new items at once. After a Create
	// whose outcome the host did not see (a timeout, a lost answer), it
	// waits at least this long before the Lookup that decides whether to
	// create again. Unlike the rest of Info it may follow the
	// configuration: the host asks for Info again after each Configure.
	ReadAfterWriteDelay time.Duration `json:"read_after_write_delay,omitempty"`
	// MaxStatusBatch is the most work items one ReadStatus call may carry
	// (the tool's page size or URL length limits it); 0 means the host's
	// default, DefaultMaxStatusBatch (see StatusBatch). Like
	// ReadAfterWriteDelay it may follow the configuration.
	MaxStatusBatch int `json:"max_status_batch,omitempty"`
}

// Capabilities tell the host which lifecycle steps a plugin supports.
type Capabilities struct {
	Lookup  bool `json:"lookup"`
	Update  bool `json:"update"`
	Resolve bool `json:"resolve"`
	Reopen  bool `json:"reopen"`
	// Comment is set by plugins whose Update adds a comment or note.
	Comment bool `json:"comment"`
	// CMDB is set by plugins that bind configuration items to a CMDB.
	CMDB bool `json:"cmdb"`
	// ReadStatus is set by Serve for plugins that implement [StatusReader]
	// (limited by a [CapabilityReporter]).
	ReadStatus bool `json:"read_status"`
	// FieldPolicy is set by plugins that apply Request.FieldPolicy. The
	// host refuses a route's field_policy for a backend whose plugin does
	// not.
	FieldPolicy bool `json:"field_policy"`
}

// CapabilityReporter is implemented by a plugin whose configuration decides
// which lifecycle steps it can take (and whether it reads status), as the
// REST plugin's action blocks do. Its Info then reports the lifecycle steps
// and ReadStatus Capabilities returns, limited to the interfaces it
// implements. The host asks for Info again after every
// successful Configure and delivers with what that Info reports, so the
// answer may follow the configuration; before Configure, report what the
// plugin can do with some configuration.
type CapabilityReporter interface {
	Capabilities() Capabilities
}

// CapabilitiesOf reports the calls p can take: the lifecycle interfaces
// and [StatusReader] it implements, limited by what it reports when it is
// a [CapabilityReporter].
func CapabilitiesOf(p Plugin) Capabilities {
	_, lookup := p.(Looker)
	_, update := p.(Updater)
	_, resolve := p.(Resolver)
	_, reopen := p.(Reopener)
	_, readStatus := p.(StatusReader)
	c := Capabilities{Lookup: lookup, Update: update, Resolve: resolve, Reopen: reopen, ReadStatus: readStatus}
	if r, ok := p.(CapabilityReporter); ok {
		says := r.Capabilities()
		c.Lookup = c.Lookup && says.Lookup
		c.Update = c.Update && says.Update
		c.Resolve = c.Resolve && says.Resolve
		c.Reopen = c.Reopen && says.Reopen
		c.ReadStatus = c.ReadStatus && says.ReadStatus
	}
	return c
}
