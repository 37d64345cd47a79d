package jirafake

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// adfNode is one node of an Atlassian Document Format document.
type adfNode struct {
	Type    *string         `json:"type"`
	Version *int            `json:"version"`
	Text    *string         `json:"text"`
	Attrs   map[string]any  `json:"attrs"`
	Content json.RawMessage `json:"content"`
	Marks   []struct {
		Type  string         `json:"type"`
		Attrs map[string]any `json:"attrs"`
	} `json:"marks"`
}

// adfBlock and adfInline are the node types the fake accepts.
var (
	adfBlock = map[string]bool{
		"paragraph": true, "heading": true, "bulletList": true, "orderedList": true, "listItem": true,
		"codeBlock": true, "blockquote": true, "rule": true, "panel": true,
	}
	adfInline = map[string]bool{"text": true, "hardBreak": true, "inlineCard": true, "emoji": true, "mention": true}
	adfMarks  = map[string]bool{"strong": true, "em": true, "code": true, "link": true, "strike": true, "underline": true}
)

// ValidateADF checks that raw is an ADF document the way Jira Cloud's
// /rest/api/3 does for rich text fields: a "doc" of version 1 whose nodes
// have known types, text nodes with non-empty text, and links with an href.
// A JSON string is rejected: v3 takes documents, not strings.
func ValidateADF(raw json.RawMessage) error {
	var doc adfNode
	if err := json.Unmarshal(raw, &doc); err != nil {
		return errors.New("not a JSON object")
	}
	if doc.Type == nil || *doc.Type != "doc" {
		return errors.New(`the root node must have type "doc"`)
	}
	if doc.Version == nil || *doc.Version != 1 {
		return errors.New("the document must have version 1")
	}
	return validateContent(doc.Content, "doc")
}

func validateContent(raw json.RawMessage, parent string) error {
	if len(raw) == 0 {
		return nil
	}
	var nodes []json.RawMessage
	if err := json.Unmarshal(raw, &nodes); err != nil {
		return fmt.Errorf("content of %s is not an array", parent)
	}
	for _, n := range nodes {
		var node adfNode
		if err := json.Unmarshal(n, &node); err != nil || node.Type == nil {
			return fmt.Errorf("a node inside %s has no type", parent)
		}
		t := *node.Type
		if !adfBlock[t] && !adfInline[t] {
			return fmt.Errorf("unknown node type %q", t)
		}
		if t == "text" && (node.Text == nil || *node.Text == "") {
			return errors.New("text nodes must have non-empty text")
		}
		for _, m := range node.Marks {
			if !adfMarks[m.Type] {
				return fmt.Errorf("unknown mark %q", m.Type)
			}
			if href, _ := m.Attrs["href"].(string); m.Type == "link" && href == "" {
				return errors.New("link marks need attrs.href")
			}
		}
		if t == "heading" {
			if lvl, _ := node.Attrs["level"].(float64); lvl < 1 || lvl > 6 {
				return errors.New("headings need attrs.level 1 to 6")
			}
		}
		if err := validateContent(node.Content, t); err != nil {
			return err
		}
	}
	return nil
}

// plainText renders a rich text value (a JSON string or an ADF document)
// as plain text, one line per block.
func plainText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var b strings.Builder
	flatten(raw, &b)
	return strings.TrimRight(b.String(), "\n")
}

func flatten(raw json.RawMessage, b *strings.Builder) {
	var node adfNode
	if json.Unmarshal(raw, &node) != nil || node.Type == nil {
		return
	}
	switch *node.Type {
	case "text":
		b.WriteString(*node.Text)
		return
	case "hardBreak":
		b.WriteString("\n")
		return
	}
	var nodes []json.RawMessage
	_ = json.Unmarshal(node.Content, &nodes)
	for _, n := range nodes {
		flatten(n, b)
	}
	switch *node.Type {
	case "paragraph", "heading", "codeBlock":
		b.WriteString("\n")
	}
}
