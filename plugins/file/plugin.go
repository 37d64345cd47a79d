package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/itsm-connector/itsm-connector/sdk"
)

// The lifecycle interfaces this plugin implements. The SDK derives the
// plugin's capabilities from them, so these guards also document what the
// host may call.
var (
	_ sdk.Plugin   = (*filePlugin)(nil)
	_ sdk.Looker   = (*filePlugin)(nil)
	_ sdk.Updater  = (*filePlugin)(nil)
	_ sdk.Resolver = (*filePlugin)(nil)
	_ sdk.Reopener = (*filePlugin)(nil)
)

// schema is the plugin's `config {}` block, declared as data. The host
// decodes and type-checks the operator's block against it before Configure.
var schema = sdk.Schema{
	Attributes: []sdk.Attribute{
		{
			Name:     "directory",
			Type:     "string",
			Required: true,
			Doc: "Directory the work items are written to, one <id>.json file each; created (mode 0750) when missing. " +
				"A relative path is taken from the connector's working directory.",
		},
		{
			// A per-alert attribute: the operator writes a template such as
			// "${alert.rule} on ${alert.resource_name}"; the host checks it
			// at load and renders it for every call into Request.Values.
			// It has no Default because a default is a literal value, not a
			// template: titleOf builds the default title instead.
			Name:     "title",
			Type:     "string",
			PerAlert: true,
			Doc: "Title of each work item, a template over `alert`, `fields` and `correlation_key` rendered for every call. " +
				"Default: \"[${alert.severity_label}] ${alert.rule}\".",
		},
		{
			Name:    "pretty",
			Type:    "bool",
			Default: json.RawMessage(`true`),
			Doc:     "Indent the JSON files for people to read; false writes one line per file.",
		},
	},
}

// config is the decoded `config {}` block. Per-alert attributes (title) are
// not in it: they arrive rendered with each call, see values.
type config struct {
	Directory string `json:"directory"`
	Pretty    *bool  `json:"pretty"`
}

// values are the per-alert attributes, rendered by the host for one call.
type values struct {
	Title string `json:"title"`
}

// filePlugin implements sdk.Plugin and every optional lifecycle interface.
//
// All calls are serialized by mu. The host already runs at most one call per
// correlation key at a time; the lock also keeps id allocation and the
// read-modify-write of a file simple. File operations are fast enough that
// this is not a bottleneck for a file backend.
type filePlugin struct {
	// logger is nil in production: log() then uses hclog's default logger,
	// which sdk.Serve sets up once serving starts.
	logger hclog.Logger
	// now is the clock; tests replace it to get stable output.
	now func() time.Time

	// newWatch starts watching the directory for the index; tests replace
	// it to run the index without a watcher, as on other systems.
	newWatch func(dir string) (watcher, error)

	mu    sync.Mutex
	store *store // nil until Configure succeeds
	index *index // the directory's work items by correlation key
}

// newPlugin returns an unconfigured plugin logging to log, or to hclog's
// default logger when log is nil.
func newPlugin(log hclog.Logger) *filePlugin {
	return &filePlugin{logger: log, now: func() time.Time { return time.Now().UTC() }, newWatch: newDirWatch}
}

func (p *filePlugin) log() hclog.Logger {
	if p.logger != nil {
		return p.logger
	}
	return hclog.Default()
}

// Info describes the plugin. Lookup, Update, Resolve and Reopen are found
// by the SDK from the interfaces above; Comment is declared here because
// Update adds a history entry, the file backend's comment.
func (p *filePlugin) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{
		Name:         "file",
		Version:      version,
		Capabilities: sdk.Capabilities{Comment: true},
		Schema:       schema,
	}, nil
}

// Configure checks that the directory exists (creating it if needed) and
// that the plugin can write to it. Every problem is a diagnostic with the
// attribute's path, so the host points the operator at the right line.
func (p *filePlugin) Configure(_ context.Context, raw sdk.Config) error {
	var cfg config
	if err := raw.Decode(&cfg); err != nil {
		return sdk.Diagnostics{sdk.AttributeError("Invalid configuration", err.Error())}
	}
	if cfg.Directory == "" {
		return sdk.Diagnostics{sdk.AttributeError("Missing directory",
			"Set directory to where the work item files should be written.", "directory")}
	}
	dir, err := filepath.Abs(cfg.Directory)
	if err != nil {
		return sdk.Diagnostics{sdk.AttributeError("Invalid directory", err.Error(), "directory")}
	}
	if err := ensureWritable(dir); err != nil {
		return sdk.Diagnostics{sdk.AttributeError("Directory is not writable",
			fmt.Sprintf("The plugin cannot write work items to %s: %v.", dir, err), "directory")}
	}
	s := &store{dir: dir, pretty: cfg.Pretty == nil || *cfg.Pretty}
	ids, _, err := s.ids()
	if err != nil {
		return sdk.Diagnostics{sdk.AttributeError("Directory is not readable",
			fmt.Sprintf("The plugin cannot list %s: %v.", dir, err), "directory")}
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	if p.index != nil && p.index.store.dir == dir {
		p.index.store = s // configured again (SIGHUP): what the index knows still holds
	} else {
		if p.index != nil {
			p.index.close()
		}
		p.index = newIndex(s, p.newWatch, p.skipped)
		p.index.unwatched = func(err error) {
			p.log().Warn("not watching the work item directory: every lookup lists it", "directory", s.dir, "error", err)
		}
	}
	p.store = s
	p.log().Info("configured", "directory", dir, "work_items", len(ids))
	return nil
}

// ensureWritable creates dir when missing and proves it is writable by
// writing and removing a probe file.
func ensureWritable(dir string) error {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return err
		}
		// MkdirAll applies the umask; make the mode exactly what the docs say.
		if err := os.Chmod(dir, 0o750); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		return err
	}
	name := f.Name()
	_ = f.Close()
	return os.Remove(name)
}

// Create writes a new work item file stamped with the correlation key.
func (p *filePlugin) Create(_ context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	if req.CorrelationKey == "" {
		return nil, sdk.Permanent(errors.New("create: the request has no correlation key"))
	}
	title, err := titleOf(req)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	s, err := p.configured()
	if err != nil {
		return nil, err
	}

	now := p.now()
	d := &document{
		FormatVersion:      formatVersion,
		CorrelationKey:     req.CorrelationKey,
		State:              sdk.StateOpen,
		Title:              title,
		Created:            now,
		Updated:            now,
		Alert:              essentialsOf(&req.Alert),
		Fields:             req.Fields,
		ConfigurationItems: req.ConfigurationItems,
	}
	d.History = append(d.History, eventFor(now, eventCreated, "alert "+string(req.Alert.Condition), &req.Alert))
	// Learn the numbers other processes took since the last call, so the
	// new id rarely collides; create handles the collisions that remain.
	if err := p.index.sync(); err != nil {
		return nil, ioError("create work item", err)
	}
	if _, err := s.create(d, p.index.maxNumber+1); err != nil {
		return nil, ioError("create work item", err)
	}
	p.index.put(d.ID, d.CorrelationKey)
	p.log().Info("created work item", "id", d.ID, "correlation_key", d.CorrelationKey, "file", s.path(d.ID))
	return s.workItem(d), nil
}

// Lookup returns the newest work item stamped with the correlation key, or
// nil when there is none. The index brings itself up to date (reading only
// the files that changed since the last call, possibly written by another
// process sharing the directory), then the key's candidates are read.
func (p *filePlugin) Lookup(_ context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	if req.CorrelationKey == "" {
		return nil, sdk.Permanent(errors.New("lookup: the request has no correlation key"))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	s, err := p.configured()
	if err != nil {
		return nil, err
	}

	if err := p.index.sync(); err != nil {
		return nil, ioError("lookup", err)
	}
	var newest *document
	for _, id := range p.index.ids(req.CorrelationKey) {
		d, err := s.read(id)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			p.index.forget(id) // deleted by someone: not a candidate
			continue
		case err != nil:
			p.skipped(id, err)
			continue
		}
		if newer(d, newest) {
			newest = d
		}
	}
	if newest == nil {
		return nil, nil
	}
	return s.workItem(newest), nil
}

// newer reports whether d was created after other (nil counts as oldest);
// the higher number wins a tie.
func newer(d, other *document) bool {
	if other == nil {
		return true
	}
	if !d.Created.Equal(other.Created) {
		return d.Created.After(other.Created)
	}
	a, _ := idNumber(d.ID)
	b, _ := idNumber(other.ID)
	return a > b
}

// Update records that the alert fired again (or otherwise changed): the
// file backend's equivalent of a comment. The title, alert, fields and
// configuration items are refreshed from the request.
func (p *filePlugin) Update(_ context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	reason := "alert fired again"
	switch {
	case req.Note != "":
		reason = req.Note // the connector's lifecycle policy speaks
	case !req.Alert.IsFired():
		reason = "alert changed, condition " + string(req.Alert.Condition)
	}
	return p.modify("update", req, func(d *document, now time.Time) bool {
		d.History = append(d.History, eventFor(now, eventUpdated, reason, &req.Alert))
		return true
	})
}

// Resolve marks the work item resolved. Resolving a resolved item changes
// nothing and succeeds: the host may repeat a call after a crash.
func (p *filePlugin) Resolve(_ context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	return p.modify("resolve", req, func(d *document, now time.Time) bool {
		if d.State == sdk.StateResolved {
			return false
		}
		d.State, d.Resolved = sdk.StateResolved, &now
		d.History = append(d.History, eventFor(now, eventResolved, "alert resolved", &req.Alert))
		return true
	})
}

// Reopen marks a resolved work item open again. Reopening an open item
// changes nothing and succeeds.
func (p *filePlugin) Reopen(_ context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	return p.modify("reopen", req, func(d *document, now time.Time) bool {
		if d.State == sdk.StateOpen {
			return false
		}
		d.State, d.Resolved = sdk.StateOpen, nil
		d.History = append(d.History, eventFor(now, eventReopened, "alert fired again after it was resolved", &req.Alert))
		return true
	})
}

// modify is the read-modify-write shared by Update, Resolve and Reopen.
// change edits the document and reports whether anything changed; when it
// did, the latest alert data is taken over and the file rewritten.
func (p *filePlugin) modify(op string, req *sdk.Request, change func(*document, time.Time) bool) (*sdk.WorkItem, error) {
	if req.Ref == nil || req.Ref.ID == "" {
		return nil, sdk.Permanent(fmt.Errorf("%s: the request has no work item reference", op))
	}
	if _, ok := idNumber(req.Ref.ID); !ok {
		return nil, sdk.Permanent(fmt.Errorf("%s: %q is not a file work item id (want WI-000001 style)", op, req.Ref.ID))
	}
	title, err := titleOf(req)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	s, err := p.configured()
	if err != nil {
		return nil, err
	}

	d, err := s.read(req.Ref.ID)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if _, dirErr := os.Stat(s.dir); dirErr != nil {
			// The whole directory is gone (an unmounted volume?): a storage
			// problem to retry, not a deleted work item.
			return nil, ioError(op, dirErr)
		}
		// Someone deleted the file: the host forgets the ref and creates anew.
		return nil, sdk.NotFound(fmt.Errorf("%s: work item %s no longer exists in %s", op, req.Ref.ID, s.dir))
	case errors.Is(err, errUnreadable):
		return nil, sdk.Permanent(fmt.Errorf("%s: %w", op, err))
	case err != nil:
		return nil, ioError(op, err)
	}
	now := p.now()
	if !change(d, now) {
		p.log().Debug("nothing to change", "op", op, "id", d.ID, "state", d.State)
		return s.workItem(d), nil
	}
	d.Updated, d.Title, d.Alert = now, title, essentialsOf(&req.Alert)
	if req.Fields != nil {
		d.Fields = req.Fields
	}
	if req.ConfigurationItems != nil {
		d.ConfigurationItems = req.ConfigurationItems
	}
	if err := s.replace(d); err != nil {
		return nil, ioError(op, err)
	}
	p.log().Info("changed work item", "op", op, "id", d.ID, "state", d.State)
	return s.workItem(d), nil
}

// configured returns the store, or a permanent error when Configure has not
// succeeded (a host bug: it must configure before any lifecycle call).
// Callers hold mu.
func (p *filePlugin) configured() (*store, error) {
	if p.store == nil {
		return nil, sdk.Permanent(errors.New("the plugin is not configured: Configure must succeed first"))
	}
	return p.store, nil
}

// skipped logs a file in the directory that looks like a work item but
// cannot be read. It is left alone, not repaired.
func (p *filePlugin) skipped(id string, err error) {
	p.log().Warn("skipping unreadable work item file", "id", id, "error", err)
}

// titleOf returns the rendered `title` value, or without one the default
// title, "[${alert.severity_label}] ${alert.rule}", built here.
func titleOf(req *sdk.Request) (string, error) {
	var v values
	if err := req.Values.Decode(&v); err != nil {
		return "", sdk.Permanent(err)
	}
	if v.Title != "" {
		return v.Title, nil
	}
	switch a := req.Alert; {
	case a.SeverityLabel != "" && a.Rule != "":
		return "[" + a.SeverityLabel + "] " + a.Rule, nil
	case a.Rule != "":
		return a.Rule, nil
	default:
		return "Alert " + a.ID, nil
	}
}

func eventFor(at time.Time, typ, reason string, a *sdk.Alert) event {
	return event{At: at, Type: typ, Reason: reason, AlertID: a.ID, Condition: a.Condition}
}

// workItem is the reference the host records and passes back as Request.Ref.
func (s *store) workItem(d *document) *sdk.WorkItem {
	return &sdk.WorkItem{
		ID:             d.ID,
		Key:            d.Key,
		URL:            (&url.URL{Scheme: "file", Path: filepath.ToSlash(s.path(d.ID))}).String(),
		State:          d.State,
		CorrelationKey: d.CorrelationKey,
	}
}

// ioError classifies a file system failure. The disk or a quota filling up,
// an I/O error, a permission an operator can fix: none of these says the
// alert is bad, so all are retryable and the host keeps trying with backoff.
func ioError(op string, err error) error {
	return sdk.Retryable(fmt.Errorf("%s: %w", op, err))
}
