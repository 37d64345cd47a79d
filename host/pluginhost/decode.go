package pluginhost

import (
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/itsm-connector/itsm-connector/host/config"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// DecodedConfig is a backend's `config {}` block decoded against its
// plugin's schema: the load-time values as sdk.Config, and the per-alert
// attributes kept as expressions for rendering on every call.
type DecodedConfig struct {
	// Config is what Configure receives: every attribute and block except
	// the per-alert attributes, as JSON shaped by the schema.
	Config sdk.Config

	body     hcl.Body
	rng      hcl.Range
	schema   *compiledSchema
	perAlert *perAlertTree
	funcs    map[string]function.Function
	// sensitive are the values of attributes the schema marks sensitive.
	sensitive []sensitiveValue
}

// sensitiveValue is one string inside a sensitive attribute: path names the
// attribute (as in sdk.Diagnostic.Path), value is the string.
type sensitiveValue struct {
	path  []string
	value string
}

// DecodeConfig decodes body (a backend's `config {}` block whose range is
// rng) against schema. Load-time attributes are evaluated with loadCtx,
// where env() and file() are available; per-alert attributes are only
// type-checked, against unknown `alert`, `fields`, `correlation_key` and
// `work_item` values with the per-alert functions perAlertFuncs. Attributes
// the schema does not declare are reported as "Unsupported argument" at
// their line.
func DecodeConfig(schema sdk.Schema, body hcl.Body, rng hcl.Range, loadCtx *hcl.EvalContext, perAlertFuncs map[string]function.Function) (*DecodedConfig, hcl.Diagnostics) {
	if body == nil {
		body = hcl.EmptyBody()
	}
	cs, err := compileSchema(schema)
	if err != nil {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid plugin schema",
			Detail:   fmt.Sprintf("The plugin declares a configuration schema the host cannot use: %s. This is a bug in the plugin; report it to its vendor.", err),
			Subject:  rng.Ptr(),
		}}
	}
	val, diags := hcldec.Decode(hidePerAlert{body: body, schema: cs}, cs.spec, loadCtx)
	tree := collectPerAlert(body, cs)
	diags = append(diags, tree.check(loadCheckContext(perAlertFuncs))...)
	diags = redactSensitive(diags, body, cs)
	if diags.HasErrors() {
		return nil, diags
	}
	if !val.IsWhollyKnown() {
		return nil, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Configuration value not known at load time",
			Detail:   "Every attribute of a backend's config block must be known when the configuration loads, except those the plugin declares per-alert.",
			Subject:  rng.Ptr(),
		})
	}
	raw, err := ctyjson.Marshal(val, val.Type())
	if err != nil {
		return nil, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Cannot encode backend configuration",
			Detail:   err.Error(),
			Subject:  rng.Ptr(),
		})
	}
	return &DecodedConfig{
		Config:    sdk.Config(raw),
		body:      body,
		rng:       rng,
		schema:    cs,
		perAlert:  tree,
		funcs:     perAlertFuncs,
		sensitive: sensitiveValues(val, cs, nil, nil),
	}, diags
}

// sensitiveValues appends to out every string inside the attributes cs
// marks sensitive in val, a decoded level of the config block at path:
// strings themselves, and the strings in maps, lists and objects.
// Per-alert attributes are rendered from alerts, not decoded, and hold no
// configured secret.
func sensitiveValues(val cty.Value, cs *compiledSchema, path []string, out []sensitiveValue) []sensitiveValue {
	if val.IsNull() || !val.IsKnown() || !val.Type().IsObjectType() {
		return out
	}
	at := func(name string) []string { return append(slices.Clip(path), name) }
	for _, name := range slices.Sorted(maps.Keys(cs.attrs)) {
		if a := cs.attrs[name]; a.Sensitive && !a.PerAlert && val.Type().HasAttribute(name) {
			out = stringsIn(val.GetAttr(name), at(name), out)
		}
	}
	for _, name := range cs.blockOrder {
		b := cs.blocks[name]
		if !val.Type().HasAttribute(name) {
			continue
		}
		bv := val.GetAttr(name)
		if b.Nesting == sdk.NestingSingle {
			out = sensitiveValues(bv, b.schema, at(name), out)
			continue
		}
		if bv.IsNull() || !bv.IsKnown() || !bv.CanIterateElements() {
			continue
		}
		for it := bv.ElementIterator(); it.Next(); {
			k, v := it.Element()
			key := k.GoString()
			if k.Type() == cty.String {
				key = k.AsString()
			} else if k.Type() == cty.Number {
				key = k.AsBigFloat().Text('f', -1)
			}
			out = sensitiveValues(v, b.schema, append(at(name), key), out)
		}
	}
	return out
}

// stringsIn appends the strings in v (a string, or any collection or
// structure of them) to out, each with path.
func stringsIn(v cty.Value, path []string, out []sensitiveValue) []sensitiveValue {
	switch {
	case v.IsNull() || !v.IsKnown():
	case v.Type() == cty.String:
		out = append(out, sensitiveValue{path: path, value: v.AsString()})
	case v.CanIterateElements():
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			out = stringsIn(e, path, out)
		}
	}
	return out
}

// HasPerAlert reports whether any call needs per-alert rendering.
func (d *DecodedConfig) HasPerAlert() bool { return !d.perAlert.empty() }

// RenderValues renders the per-alert attributes for req into the JSON
// shape of sdk.Values. It returns nil values when the schema declares no
// per-alert attribute. A failure (say `alert.metric.name` on a log alert)
// is the same for every retry, so it is a permanent error naming the
// attribute and its line.
func (d *DecodedConfig) RenderValues(req *sdk.Request) (sdk.Values, error) {
	if d.perAlert.empty() {
		return nil, nil
	}
	ctx, err := callContext(req, d.funcs)
	if err != nil {
		return nil, sdk.Permanent(fmt.Errorf("render per-alert values: %w", err))
	}
	raw, diags := d.perAlert.render(ctx)
	if diags.HasErrors() {
		return nil, sdk.Permanent(fmt.Errorf("render per-alert values: %s", config.DiagnosticsText(diags)))
	}
	return sdk.Values(raw), nil
}

// PathRange returns the source range of the attribute or block that path
// names inside the config body, e.g. ["auth", "client_secret"]; list
// blocks take an index and map blocks a label as the next element. When
// the path cannot be followed to the end it returns the range of the
// deepest element found, and the config block's range for an empty path.
func (d *DecodedConfig) PathRange(path []string) hcl.Range {
	rng := d.rng
	body, cs := d.body, d.schema
	for i := 0; i < len(path); i++ {
		content, _, _ := body.PartialContent(cs.bodySchema(false))
		if content == nil {
			return rng
		}
		if a, ok := content.Attributes[path[i]]; ok {
			return a.Expr.Range()
		}
		cb, ok := cs.blocks[path[i]]
		if !ok {
			return rng
		}
		blocks := content.Blocks.OfType(path[i])
		if len(blocks) == 0 {
			return rng
		}
		block := blocks[0]
		switch cb.Nesting {
		case sdk.NestingList:
			if i+1 < len(path) {
				if n, err := strconv.Atoi(path[i+1]); err == nil && n >= 0 && n < len(blocks) {
					block = blocks[n]
					i++
				}
			}
		case sdk.NestingMap:
			if i+1 < len(path) {
				for _, b := range blocks {
					if len(b.Labels) == 1 && b.Labels[0] == path[i+1] {
						block = b
						i++
						break
					}
				}
			}
		}
		rng = block.DefRange
		body, cs = block.Body, cb.schema
	}
	return rng
}

// Diagnostics turns a plugin's Configure diagnostics into HCL diagnostics
// pointing at the attribute each one names.
func (d *DecodedConfig) Diagnostics(pluginDiags sdk.Diagnostics) hcl.Diagnostics {
	out := make(hcl.Diagnostics, 0, len(pluginDiags))
	for _, pd := range pluginDiags {
		sev := hcl.DiagError
		if pd.Severity == sdk.SeverityWarning {
			sev = hcl.DiagWarning
		}
		out = append(out, &hcl.Diagnostic{
			Severity: sev,
			Summary:  pd.Summary,
			Detail:   pd.Detail,
			Subject:  d.PathRange(pd.Path).Ptr(),
		})
	}
	return out
}

// redactSensitive drops the expression and evaluation context from
// diagnostics about sensitive attributes, so that a diagnostic printer
// never shows the values involved.
func redactSensitive(diags hcl.Diagnostics, body hcl.Body, cs *compiledSchema) hcl.Diagnostics {
	if len(diags) == 0 {
		return diags
	}
	var ranges []hcl.Range
	var walk func(body hcl.Body, cs *compiledSchema)
	walk = func(body hcl.Body, cs *compiledSchema) {
		content, _, _ := body.PartialContent(cs.bodySchema(false))
		if content == nil {
			return
		}
		for name, a := range content.Attributes {
			if cs.attrs[name].Sensitive {
				ranges = append(ranges, a.Range)
			}
		}
		for _, b := range content.Blocks {
			if cb, ok := cs.blocks[b.Type]; ok {
				walk(b.Body, cb.schema)
			}
		}
	}
	walk(body, cs)
	for _, diag := range diags {
		if diag.Subject == nil {
			continue
		}
		for _, r := range ranges {
			if r.Overlaps(*diag.Subject) {
				diag.Expression, diag.EvalContext = nil, nil
				break
			}
		}
	}
	return diags
}
