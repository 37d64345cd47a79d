package jira

import (
	"strings"

	"github.com/itsm-connector/itsm-connector/sdk/sdktext"
)

// document is rich text built once and rendered either as Atlassian
// Document Format (Cloud, REST v3) or as plain text (Data Center, REST v2).
type document []block

// blockKind is the kind of one block of a document.
type blockKind int

const (
	blockParagraph blockKind = iota
	blockBullets
	blockCode
)

// block is one paragraph, bullet list or code block.
type block struct {
	kind blockKind
	// inlines are the content of a paragraph.
	inlines []inline
	// items are the bullets of a list, each a run of inlines.
	items [][]inline
	// code and lang are a code block's text and language.
	code string
	lang string
}

// inline is a run of text, optionally bold, monospace or a link.
type inline struct {
	text   string
	href   string
	strong bool
	code   bool
}

func text(s string) inline             { return inline{text: s} }
func strong(s string) inline           { return inline{text: s, strong: true} }
func code(s string) inline             { return inline{text: s, code: true} }
func link(label, href string) inline   { return inline{text: label, href: href} }
func paragraph(in ...inline) block     { return block{kind: blockParagraph, inlines: in} }
func bullets(items ...[]inline) block  { return block{kind: blockBullets, items: items} }
func codeBlock(lang, src string) block { return block{kind: blockCode, lang: lang, code: src} }

// ADF renders the document in Atlassian Document Format, version 1. Empty
// text runs are dropped: Jira rejects text nodes without text.
func (d document) ADF() map[string]any {
	content := []any{}
	for _, b := range d {
		if n := b.adf(); n != nil {
			content = append(content, n)
		}
	}
	return map[string]any{"type": "doc", "version": 1, "content": content}
}

func (b block) adf() map[string]any {
	switch b.kind {
	case blockBullets:
		var items []any
		for _, it := range b.items {
			in := inlinesADF(it)
			if len(in) == 0 {
				continue
			}
			items = append(items, map[string]any{"type": "listItem", "content": []any{
				map[string]any{"type": "paragraph", "content": in},
			}})
		}
		if len(items) == 0 {
			return nil
		}
		return map[string]any{"type": "bulletList", "content": items}
	case blockCode:
		if b.code == "" {
			return nil
		}
		n := map[string]any{"type": "codeBlock", "content": []any{map[string]any{"type": "text", "text": b.code}}}
		if b.lang != "" {
			n["attrs"] = map[string]any{"language": b.lang}
		}
		return n
	default:
		in := inlinesADF(b.inlines)
		if len(in) == 0 {
			return nil
		}
		return map[string]any{"type": "paragraph", "content": in}
	}
}

// inlinesADF renders inline runs; line breaks inside a run become
// hardBreak nodes.
func inlinesADF(in []inline) []any {
	var out []any
	for _, x := range in {
		for i, line := range strings.Split(x.text, "\n") {
			if i > 0 {
				out = append(out, map[string]any{"type": "hardBreak"})
			}
			if line == "" {
				continue
			}
			n := map[string]any{"type": "text", "text": line}
			var marks []any
			if x.strong {
				marks = append(marks, map[string]any{"type": "strong"})
			}
			if x.code {
				marks = append(marks, map[string]any{"type": "code"})
			}
			if x.href != "" {
				marks = append(marks, map[string]any{"type": "link", "attrs": map[string]any{"href": x.href}})
			}
			if len(marks) > 0 {
				n["marks"] = marks
			}
			out = append(out, n)
		}
	}
	return out
}

// Text renders the document as plain text: blocks separated by a blank
// line, bullets as "- ", links as "label: URL", code indented by four
// spaces.
func (d document) Text() string {
	var parts []string
	for _, b := range d {
		var s string
		switch b.kind {
		case blockBullets:
			var lines []string
			for _, it := range b.items {
				if l := inlinesText(it); l != "" {
					lines = append(lines, "- "+l)
				}
			}
			s = strings.Join(lines, "\n")
		case blockCode:
			if b.code != "" {
				s = "    " + strings.ReplaceAll(b.code, "\n", "\n    ")
			}
		default:
			s = inlinesText(b.inlines)
		}
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "\n\n")
}

func inlinesText(in []inline) string {
	var b strings.Builder
	for _, x := range in {
		switch {
		case x.href == "":
			b.WriteString(x.text)
		case x.text == "" || x.text == x.href:
			b.WriteString(x.href)
		default:
			b.WriteString(x.text + ": " + x.href)
		}
	}
	return b.String()
}

// render returns the document as the flavor's rich text value: an ADF
// document on Cloud, a string on Data Center.
func (d document) render(flavor string) any {
	if flavor == FlavorCloud {
		return d.ADF()
	}
	return sdktext.Truncate(d.Text(), maxText)
}
