package pluginhost

import (
	"encoding/json"
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/itsm-connector/itsm-connector/host/config"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// blockLabel is the label name of map-nested blocks: `header "X-Key" { ... }`.
const blockLabel = "name"

// compiledSchema is a plugin's sdk.Schema made usable for decoding: the
// hcldec spec for load-time attributes and blocks, and, level by level, the
// per-alert attributes that are kept as expressions instead.
type compiledSchema struct {
	// spec decodes every attribute and block except per-alert attributes.
	spec hcldec.ObjectSpec
	// attrs are all attributes of this level by name, per-alert or not.
	attrs map[string]*compiledAttr
	// perAlert lists this level's per-alert attribute names in schema order.
	perAlert []string
	// blocks are the nested block types by name.
	blocks map[string]*compiledBlock
	// blockOrder is the schema order of blocks.
	blockOrder []string
	// hasPerAlert is true when this level or any nested level declares a
	// per-alert attribute.
	hasPerAlert bool
}

type compiledAttr struct {
	sdk.Attribute
	typ cty.Type
	// def is the default value, cty.NilVal without one.
	def cty.Value
}

type compiledBlock struct {
	sdk.Block
	schema *compiledSchema
}

// compileSchema checks a plugin's schema and turns it into specs. Errors
// name the attribute so a plugin vendor can fix the declaration.
func compileSchema(s sdk.Schema) (*compiledSchema, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return compileLevel(s, "")
}

func compileLevel(s sdk.Schema, prefix string) (*compiledSchema, error) {
	cs := &compiledSchema{
		spec:   hcldec.ObjectSpec{},
		attrs:  map[string]*compiledAttr{},
		blocks: map[string]*compiledBlock{},
	}
	for _, a := range s.Attributes {
		ty, err := parseType(a.Type)
		if err != nil {
			return nil, fmt.Errorf("schema attribute %q: %w", prefix+a.Name, err)
		}
		ca := &compiledAttr{Attribute: a, typ: ty, def: cty.NilVal}
		if len(a.Default) > 0 {
			def, err := defaultValue(a.Default, ty)
			if err != nil {
				return nil, fmt.Errorf("schema attribute %q: default %s: %w", prefix+a.Name, a.Default, err)
			}
			ca.def = def
		}
		cs.attrs[a.Name] = ca
		if a.PerAlert {
			cs.perAlert = append(cs.perAlert, a.Name)
			cs.hasPerAlert = true
			continue
		}
		var spec hcldec.Spec = &hcldec.AttrSpec{Name: a.Name, Type: ty, Required: a.Required}
		if ca.def != cty.NilVal {
			spec = &hcldec.DefaultSpec{Primary: spec, Default: &hcldec.LiteralSpec{Value: ca.def}}
		}
		cs.spec[a.Name] = spec
	}
	for _, b := range s.Blocks {
		nested, err := compileLevel(b.Schema, prefix+b.Name+".")
		if err != nil {
			return nil, err
		}
		cb := &compiledBlock{Block: b, schema: nested}
		cs.blocks[b.Name] = cb
		cs.blockOrder = append(cs.blockOrder, b.Name)
		cs.hasPerAlert = cs.hasPerAlert || nested.hasPerAlert
		switch b.Nesting {
		case sdk.NestingSingle:
			cs.spec[b.Name] = &hcldec.BlockSpec{TypeName: b.Name, Nested: nested.spec, Required: b.Required}
		case sdk.NestingList:
			minItems := 0
			if b.Required {
				minItems = 1
			}
			cs.spec[b.Name] = &hcldec.BlockListSpec{TypeName: b.Name, Nested: nested.spec, MinItems: minItems}
		case sdk.NestingMap:
			cs.spec[b.Name] = &hcldec.BlockMapSpec{TypeName: b.Name, LabelNames: []string{blockLabel}, Nested: nested.spec}
		default:
			return nil, fmt.Errorf("schema block %q: unknown nesting %q", prefix+b.Name, b.Nesting)
		}
	}
	return cs, nil
}

// parseType parses an HCL type constraint such as "list(string)" or
// "object({url=string, retries=optional(number)})".
func parseType(s string) (cty.Type, error) {
	expr, diags := hclsyntax.ParseExpression([]byte(s), "type", hcl.InitialPos)
	if diags.HasErrors() {
		return cty.NilType, fmt.Errorf("type %q does not parse: %s", s, config.DiagnosticsText(diags))
	}
	ty, diags := typeexpr.TypeConstraint(expr)
	if diags.HasErrors() {
		return cty.NilType, fmt.Errorf("type %q is not a valid type constraint: %s", s, config.DiagnosticsText(diags))
	}
	return ty, nil
}

// defaultValue decodes a schema default given as JSON into a value of ty.
func defaultValue(raw json.RawMessage, ty cty.Type) (cty.Value, error) {
	target := ty.WithoutOptionalAttributesDeep()
	if target == cty.DynamicPseudoType {
		implied, err := ctyjson.ImpliedType(raw)
		if err != nil {
			return cty.NilVal, err
		}
		target = implied
	}
	return ctyjson.Unmarshal(raw, target)
}

// bodySchema is the hcl.BodySchema of one level, per-alert attributes
// included. required controls whether required attributes and blocks are
// marked so; the second walk over a body passes false so that a missing
// attribute is reported only once.
func (cs *compiledSchema) bodySchema(required bool) *hcl.BodySchema {
	s := &hcl.BodySchema{}
	for name, a := range cs.attrs {
		s.Attributes = append(s.Attributes, hcl.AttributeSchema{Name: name, Required: required && a.Required})
	}
	for _, name := range cs.blockOrder {
		b := cs.blocks[name]
		hs := hcl.BlockHeaderSchema{Type: name}
		if b.Nesting == sdk.NestingMap {
			hs.LabelNames = []string{blockLabel}
		}
		s.Blocks = append(s.Blocks, hs)
	}
	return s
}
