// Package hclfuncs holds the functions available in connector.hcl: the
// per-alert set (routes, fields, per-alert plugin attributes) and the
// load-time set, which adds env() and file().
package hclfuncs
