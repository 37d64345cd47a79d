package sdk

import (
	"encoding/json"
	"fmt"
)

// Schema declares a plugin's `config {}` block as data. The host decodes the
// operator's block against it (hcldec), so type errors point at the line in
// connector.hcl before the plugin ever sees a value.
type Schema struct {
	Attributes []Attribute `json:"attributes,omitempty"`
	Blocks     []Block     `json:"blocks,omitempty"`
}

// Attribute declares one configuration attribute.
type Attribute struct {
	// Name is the attribute's name in HCL (snake_case).
	Name string `json:"name"`
	// Type is an HCL type constraint: "string", "number", "bool",
	// "list(string)", "map(string)", "object({...})" or "any".
	Type string `json:"type"`
	// Required attributes must be set by the operator.
	Required bool `json:"required,omitempty"`
	// Sensitive values are redacted in logs, errors and `validate` output.
	Sensitive bool `json:"sensitive,omitempty"`
	// PerAlert attributes are templates over `alert` (and `fields`,
	// `correlation_key`, `work_item`): the host keeps them as expressions and
	// renders them for every call into Request.Values.
	PerAlert bool `json:"per_alert,omitempty"`
	// Default is the JSON value used when the operator leaves it out.
	Default json.RawMessage `json:"default,omitempty"`
	// Doc is one or two sentences for the operator.
	Doc string `json:"doc,omitempty"`
}

// Nesting says how often a nested block may appear.
type Nesting string

// Block nestings.
const (
	// NestingSingle: at most one block; decodes to an object (null if absent).
	NestingSingle Nesting = "single"
	// NestingList: any number of blocks; decodes to a list of objects.
	NestingList Nesting = "list"
	// NestingMap: blocks with one label; decodes to a map of objects by label.
	NestingMap Nesting = "map"
)

// Block declares a nested block inside `config {}`.
type Block struct {
	Name    string  `json:"name"`
	Nesting Nesting `json:"nesting"`
	// Required single blocks must be present.
	Required bool   `json:"required,omitempty"`
	Doc      string `json:"doc,omitempty"`
	Schema   Schema `json:"schema"`
}

// Validate reports the first structural problem in the schema itself: empty
// or duplicate names, unknown nesting. Plugin tests call it; so does the host.
func (s Schema) Validate() error {
	return s.validate("")
}

func (s Schema) validate(prefix string) error {
	seen := map[string]bool{}
	for _, a := range s.Attributes {
		if a.Name == "" {
			return fmt.Errorf("schema: attribute with empty name in %q", prefix)
		}
		if seen[a.Name] {
			return fmt.Errorf("schema: duplicate name %q", prefix+a.Name)
		}
		seen[a.Name] = true
		if a.Type == "" {
			return fmt.Errorf("schema: attribute %q has no type", prefix+a.Name)
		}
		if a.Required && len(a.Default) > 0 {
			return fmt.Errorf("schema: attribute %q is required and has a default", prefix+a.Name)
		}
	}
	for _, b := range s.Blocks {
		if b.Name == "" {
			return fmt.Errorf("schema: block with empty name in %q", prefix)
		}
		if seen[b.Name] {
			return fmt.Errorf("schema: duplicate name %q", prefix+b.Name)
		}
		seen[b.Name] = true
		switch b.Nesting {
		case NestingSingle, NestingList, NestingMap:
		default:
			return fmt.Errorf("schema: block %q has unknown nesting %q", prefix+b.Name, b.Nesting)
		}
		if err := b.Schema.validate(prefix + b.Name + "."); err != nil {
			return err
		}
	}
	return nil
}

// Config is a backend's decoded `config {}` block as JSON, shaped by the
// schema: attributes by name, single blocks as objects, list blocks as
// arrays, map blocks as objects keyed by label. Per-alert attributes are
// absent here; they arrive rendered in Request.Values.
type Config json.RawMessage

// Decode unmarshals the configuration into v, typically a struct with json
// tags matching the schema's names.
func (c Config) Decode(v any) error {
	if len(c) == 0 {
		return nil
	}
	if err := json.Unmarshal(c, v); err != nil {
		return fmt.Errorf("decode config: %w", err)
	}
	return nil
}

// MarshalJSON keeps Config raw.
func (c Config) MarshalJSON() ([]byte, error) { return json.RawMessage(c).MarshalJSON() }

// UnmarshalJSON keeps Config raw.
func (c *Config) UnmarshalJSON(b []byte) error { *c = append((*c)[:0], b...); return nil }

// Values are a plugin's per-alert attributes rendered for one call, shaped
// like Config but holding only the attributes marked PerAlert.
type Values json.RawMessage

// Decode unmarshals the rendered values into v.
func (v Values) Decode(dst any) error {
	if len(v) == 0 {
		return nil
	}
	if err := json.Unmarshal(v, dst); err != nil {
		return fmt.Errorf("decode per-alert values: %w", err)
	}
	return nil
}

// MarshalJSON keeps Values raw.
func (v Values) MarshalJSON() ([]byte, error) {
	if len(v) == 0 {
		return []byte("null"), nil
	}
	return json.RawMessage(v).MarshalJSON()
}

// UnmarshalJSON keeps Values raw.
func (v *Values) UnmarshalJSON(b []byte) error { *v = append((*v)[:0], b...); return nil }
