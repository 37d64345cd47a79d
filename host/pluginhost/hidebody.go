package pluginhost

import (
	"github.com/hashicorp/hcl/v2"
)

// hidePerAlert wraps a config body so that hcldec, decoding the load-time
// attributes, neither evaluates per-alert attributes nor reports them as
// unsupported: they are accepted (and required ones checked) here, then
// removed from what hcldec sees. Nested blocks are wrapped the same way.
type hidePerAlert struct {
	body   hcl.Body
	schema *compiledSchema
}

var _ hcl.Body = hidePerAlert{}

func (h hidePerAlert) widen(s *hcl.BodySchema) *hcl.BodySchema {
	out := &hcl.BodySchema{Attributes: append([]hcl.AttributeSchema(nil), s.Attributes...), Blocks: s.Blocks}
	for _, name := range h.schema.perAlert {
		out.Attributes = append(out.Attributes, hcl.AttributeSchema{Name: name, Required: h.schema.attrs[name].Required})
	}
	return out
}

func (h hidePerAlert) strip(c *hcl.BodyContent) *hcl.BodyContent {
	if c == nil {
		return nil
	}
	for _, name := range h.schema.perAlert {
		delete(c.Attributes, name)
	}
	for i, b := range c.Blocks {
		if nb, ok := h.schema.blocks[b.Type]; ok {
			cp := *b
			cp.Body = hidePerAlert{body: b.Body, schema: nb.schema}
			c.Blocks[i] = &cp
		}
	}
	return c
}

// Content implements hcl.Body.
func (h hidePerAlert) Content(s *hcl.BodySchema) (*hcl.BodyContent, hcl.Diagnostics) {
	c, diags := h.body.Content(h.widen(s))
	return h.strip(c), diags
}

// PartialContent implements hcl.Body.
func (h hidePerAlert) PartialContent(s *hcl.BodySchema) (*hcl.BodyContent, hcl.Body, hcl.Diagnostics) {
	c, rest, diags := h.body.PartialContent(h.widen(s))
	return h.strip(c), rest, diags
}

// JustAttributes implements hcl.Body.
func (h hidePerAlert) JustAttributes() (hcl.Attributes, hcl.Diagnostics) {
	attrs, diags := h.body.JustAttributes()
	for _, name := range h.schema.perAlert {
		delete(attrs, name)
	}
	return attrs, diags
}

// MissingItemRange implements hcl.Body.
func (h hidePerAlert) MissingItemRange() hcl.Range { return h.body.MissingItemRange() }
