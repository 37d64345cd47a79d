package harness

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// FileWorkItem is the part of a file plugin work item the tests read.
type FileWorkItem struct {
	ID             string `json:"id"`
	CorrelationKey string `json:"correlation_key"`
	// State is "open" or "resolved".
	State string `json:"state"`
	// ConfigurationItems are the resources the work item lists.
	ConfigurationItems []struct {
		Name       string `json:"name"`
		ResourceID string `json:"resource_id"`
	} `json:"configuration_items"`
	History []struct {
		Type   string `json:"type"`
		Reason string `json:"reason"`
	} `json:"history"`
}

// File plugin work item states.
const (
	FileOpen     = "open"
	FileResolved = "resolved"
)

// FileWorkItems reads every work item the file plugin wrote into dir (its
// `directory`). The plugin writes atomically, so a file is always whole.
func FileWorkItems(dir string) ([]FileWorkItem, error) {
	files, err := filepath.Glob(filepath.Join(dir, "WI-*.json"))
	if err != nil {
		return nil, err
	}
	items := make([]FileWorkItem, 0, len(files))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var wi FileWorkItem
		if err := json.Unmarshal(b, &wi); err != nil {
			return nil, fmt.Errorf("work item %s: %w", f, err)
		}
		items = append(items, wi)
	}
	return items, nil
}
