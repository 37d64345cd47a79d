// Package doccheck holds tests that keep the repository's top-level
// documents honest; it has no code of its own.
package doccheck
