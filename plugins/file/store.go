package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/itsm-connector/itsm-connector/sdk"
)

// formatVersion is written into every file so that a later release can read
// older files (and refuse newer ones) knowingly.
const formatVersion = 1

// document is one work item as stored in <directory>/<id>.json. It is the
// whole remote state of the file backend: what a real ITSM tool would keep
// in its database.
type document struct {
	FormatVersion  int               `json:"format_version"`
	ID             string            `json:"id"`
	Key            string            `json:"key"`
	CorrelationKey string            `json:"correlation_key"`
	State          sdk.WorkItemState `json:"state"`
	Title          string            `json:"title"`
	Created        time.Time         `json:"created"`
	Updated        time.Time         `json:"updated"`
	// Resolved is when the item was last resolved; nil while it is open.
	Resolved *time.Time `json:"resolved"`
	// Alert holds the essentials of the latest alert that touched the item.
	Alert alertEssentials `json:"alert"`
	// Fields are the route's rendered `fields`, as of the latest call.
	Fields map[string]any `json:"fields"`
	// ConfigurationItems are the CIs this work item covers.
	ConfigurationItems []sdk.ConfigurationItem `json:"configuration_items"`
	// History lists every change, oldest first.
	History []event `json:"history"`
}

// alertEssentials is the part of sdk.Alert worth keeping in a work item. The
// raw alert context is left out on purpose: it can be large, and the
// essentials are what a person triaging the item reads.
type alertEssentials struct {
	ID                string        `json:"id"`
	Rule              string        `json:"rule"`
	RuleID            string        `json:"rule_id"`
	Severity          *int          `json:"severity"`
	SeverityLabel     string        `json:"severity_label"`
	SignalType        string        `json:"signal_type"`
	Condition         sdk.Condition `json:"condition"`
	MonitoringService string        `json:"monitoring_service"`
	Targets           []string      `json:"targets"`
	FiredAt           time.Time     `json:"fired_at"`
	ResolvedAt        *time.Time    `json:"resolved_at"`
	Description       string        `json:"description"`
}

func essentialsOf(a *sdk.Alert) alertEssentials {
	return alertEssentials{
		ID:                a.ID,
		Rule:              a.Rule,
		RuleID:            a.RuleID,
		Severity:          a.Severity,
		SeverityLabel:     a.SeverityLabel,
		SignalType:        a.SignalType,
		Condition:         a.Condition,
		MonitoringService: a.MonitoringService,
		Targets:           a.Targets,
		FiredAt:           a.FiredAt,
		ResolvedAt:        a.ResolvedAt,
		Description:       a.Description,
	}
}

// Event types in a document's history.
const (
	eventCreated  = "created"
	eventUpdated  = "updated"
	eventResolved = "resolved"
	eventReopened = "reopened"
)

// event is one entry of a work item's history.
type event struct {
	At        time.Time     `json:"at"`
	Type      string        `json:"type"`
	Reason    string        `json:"reason"`
	AlertID   string        `json:"alert_id"`
	Condition sdk.Condition `json:"condition"`
}

// Work item ids are WI-000001, WI-000002, ...: "WI-" and at least six
// digits, the file name without .json, and the only names Update, Resolve
// and Reopen accept, so a Ref can never point outside the directory.
func idFor(n int) string { return fmt.Sprintf("WI-%06d", n) }

// idNumber returns the sequence number of an id, or false when the string is
// not an id.
func idNumber(id string) (int, bool) {
	digits, ok := strings.CutPrefix(id, "WI-")
	if !ok || len(digits) < 6 || strings.Trim(digits, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(digits)
	return n, err == nil
}

// errUnreadable marks a file whose content this plugin cannot use. Unlike an
// I/O error, retrying cannot fix it.
var errUnreadable = errors.New("not a valid work item file")

// store reads and writes documents in one directory.
type store struct {
	dir    string
	pretty bool
}

func (s *store) path(id string) string { return filepath.Join(s.dir, id+".json") }

// read loads the document with the given id.
func (s *store) read(id string) (*document, error) {
	b, err := os.ReadFile(s.path(id))
	if err != nil {
		return nil, err
	}
	var d document
	if err := s.decode(id, b, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// indexEntry is the part of a document the index needs.
type indexEntry struct {
	FormatVersion  int    `json:"format_version"`
	CorrelationKey string `json:"correlation_key"`
}

// fileStamp tells whether a file changed since it was read.
type fileStamp struct {
	size int64
	mod  time.Time
}

// current reports whether the file at path still has the stamp; false
// also when it cannot be checked.
func (st fileStamp) current(path string) bool {
	fi, err := os.Lstat(path)
	return err == nil && fi.Size() == st.size && fi.ModTime().Equal(st.mod)
}

// readKey returns the correlation key of the work item id, decoding no
// more than the index needs, and the file's stamp taken before reading it
// (so a write during the read changes the stamp).
func (s *store) readKey(id string) (string, fileStamp, error) {
	f, err := os.Open(s.path(id))
	if err != nil {
		return "", fileStamp{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", fileStamp{}, err
	}
	stamp := fileStamp{size: fi.Size(), mod: fi.ModTime()}
	b, err := io.ReadAll(f)
	if err != nil {
		return "", stamp, err
	}
	var e indexEntry
	if err := s.decode(id, b, &e); err != nil {
		return "", stamp, err
	}
	return e.CorrelationKey, stamp, nil
}

// decode parses the file of id into v (a *document or *indexEntry) and
// refuses a format newer than this plugin's.
func (s *store) decode(id string, b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w: %v", s.path(id), errUnreadable, err)
	}
	var version int
	switch v := v.(type) {
	case *document:
		version = v.FormatVersion
	case *indexEntry:
		version = v.FormatVersion
	}
	if version > formatVersion {
		return fmt.Errorf("%s: %w: format version %d, this plugin reads up to %d",
			s.path(id), errUnreadable, version, formatVersion)
	}
	return nil
}

func (s *store) encode(d *document) ([]byte, error) {
	if s.pretty {
		b, err := json.MarshalIndent(d, "", "  ")
		return append(b, '\n'), err
	}
	b, err := json.Marshal(d)
	return append(b, '\n'), err
}

// create writes d under a new id. Numbers are tried from next upwards; the
// name is claimed with a hard link, which fails when the name exists, so two
// processes sharing the directory can never take the same id. It returns the
// number used.
func (s *store) create(d *document, next int) (int, error) {
	for attempt := 0; attempt < 100; attempt++ {
		n := next + attempt
		d.ID, d.Key = idFor(n), idFor(n)
		b, err := s.encode(d)
		if err != nil {
			return 0, err
		}
		err = writeAtomic(s.dir, d.ID+".json", b, true)
		if errors.Is(err, fs.ErrExist) {
			continue // taken by another writer: try the next number
		}
		return n, err
	}
	return 0, fmt.Errorf("no free work item id in %s after 100 attempts from %s", s.dir, idFor(next))
}

// replace overwrites the existing document d.ID atomically.
func (s *store) replace(d *document) error {
	b, err := s.encode(d)
	if err != nil {
		return err
	}
	return writeAtomic(s.dir, d.ID+".json", b, false)
}

// ids lists the work item ids in the directory, in no particular order,
// and the highest number among them. Other files (temporary files,
// anything an operator put there) are not work items and are left out.
func (s *store) ids() (ids []string, maxNumber int, err error) {
	f, err := os.Open(s.dir)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	entries, err := f.ReadDir(-1) // unsorted, unlike os.ReadDir
	if err != nil {
		return nil, 0, err
	}
	for _, e := range entries {
		id, ok := idOfName(e.Name())
		if !ok || !e.Type().IsRegular() {
			continue
		}
		n, _ := idNumber(id)
		ids = append(ids, id)
		maxNumber = max(maxNumber, n)
	}
	return ids, maxNumber, nil
}

// writeAtomic writes data to dir/name so that a reader (or a crash) only
// ever sees the old content or the new one: write a temporary file, fsync
// it, then rename it over name — or, when exclusive, hard-link it to name,
// which fails with fs.ErrExist if name already exists. Finally the directory
// is fsynced so the new name itself survives a crash. Exclusive writes need
// a file system with hard links (any local POSIX file system, NTFS).
func writeAtomic(dir, name string, data []byte, exclusive bool) (err error) {
	tmp, err := os.CreateTemp(dir, "."+name+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil || exclusive {
			_ = os.Remove(tmp.Name()) // after a link the name is kept; the temp goes
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		_ = tmp.Close()
		return err
	}
	if err = tmp.Sync(); err != nil {
		_ = tmp.Close()
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Chmod(tmp.Name(), 0o640); err != nil {
		return err
	}
	final := filepath.Join(dir, name)
	if exclusive {
		err = os.Link(tmp.Name(), final)
	} else {
		err = os.Rename(tmp.Name(), final)
	}
	if err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir makes a rename or link in dir durable. Windows cannot fsync a
// directory, and does not need to.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
