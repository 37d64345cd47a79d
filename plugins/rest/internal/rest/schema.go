package rest

import (
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdkhttp"
)

// Action names: the config blocks that describe one HTTP request each.
const (
	ActionCreate  = "create"
	ActionLookup  = "lookup"
	ActionUpdate  = "update"
	ActionResolve = "resolve"
	ActionReopen  = "reopen"
	ActionFindCI  = "find_ci"
)

// actionNames lists the action blocks in schema order.
var actionNames = []string{ActionCreate, ActionLookup, ActionUpdate, ActionResolve, ActionReopen, ActionFindCI}

// actionDocs says what each action block is for.
var actionDocs = map[string]string{
	ActionCreate:  "Request that opens a work item (or triggers an event). Required.",
	ActionLookup:  "Request that finds the newest work item stamped with the correlation key, so that a crash between creating it and recording it never creates a duplicate. Leave it out when the API deduplicates by a key the create body sends.",
	ActionUpdate:  "Request sent when the alert fires again while its work item is open (a comment or note). Without it the host only records the event.",
	ActionResolve: "Request that resolves or closes the work item when the alert resolves. Without it the item is recorded as resolved and nothing is sent.",
	ActionReopen:  "Request that reopens a resolved work item when the alert fires again inside the route's reopen window. Without it the host creates a new work item instead.",
	ActionFindCI:  "Request that finds the alert's configuration item in a CMDB before create; its result id is written into the create body at body_path.",
}

// defaultMethods are each action's default HTTP method.
var defaultMethods = map[string]string{
	ActionCreate: "POST", ActionLookup: "GET", ActionUpdate: "POST",
	ActionResolve: "POST", ActionReopen: "POST", ActionFindCI: "GET",
}

// Default status sets.
var (
	defaultSuccess   = []string{"2xx"}
	defaultNotFound  = []string{"404"}
	defaultRetryable = []string{"408", "429", "5xx"}
)

// Schema is the plugin's `config {}` block, declared as data for the host.
// Attributes marked PerAlert are HCL templates the host renders for every
// call into Request.Values; the rest arrive in Configure.
func Schema() sdk.Schema {
	blocks := []sdk.Block{
		sdkhttp.AuthSchema("How requests authenticate. Without the block no credentials are sent.", false,
			sdkhttp.AuthAttribute("type", `"none", "basic", "bearer", "api_key" (a header) or "oauth2" (client credentials grant).`),
			sdkhttp.AuthAttribute("username", "User for basic auth."),
			sdkhttp.AuthAttribute("password", "Password for basic auth; load it with file() or env()."),
			sdkhttp.AuthAttribute("token", "Static bearer token for type \"bearer\"."),
			sdkhttp.AuthAttribute("api_key", "API key for type \"api_key\"."),
			sdkhttp.AuthAttribute("api_key_header", "Header that carries the API key.", defaultAPIKeyHeader),
			sdkhttp.AuthAttribute("api_key_prefix", `Text put before the key in the header, e.g. "GenieKey " (mind the space).`),
			sdkhttp.AuthAttribute("token_url", "OAuth 2.0 token endpoint for type \"oauth2\"."),
			sdkhttp.AuthAttribute("client_id", "OAuth 2.0 client id."),
			sdkhttp.AuthAttribute("client_secret", "OAuth 2.0 client secret."),
			sdkhttp.AuthAttribute("scopes", "OAuth 2.0 scopes requested with the token."),
			sdkhttp.AuthAttribute("token_params", "Extra form parameters of the token request, e.g. { audience = \"https://api.example.com\" }."),
			sdkhttp.AuthAttribute("client_auth", `How the client authenticates to the token endpoint: "basic" (HTTP basic, RFC 6749's default) or "body" (client_id and client_secret form parameters).`),
		),
		{Name: "hmac", Nesting: sdk.NestingSingle,
			Doc: "Signs every request body with HMAC-SHA256 in a header; combines with any auth type.",
			Schema: sdk.Schema{Attributes: []sdk.Attribute{
				{Name: "secret", Type: "string", Required: true, Sensitive: true, Doc: "Shared signing secret."},
				{Name: "header", Type: "string", Required: true, Doc: `Header that carries the signature, e.g. "X-Signature-256".`},
				{Name: "encoding", Type: "string", Default: sdkhttp.JSONOf(encodingHex), Doc: `"hex" or "base64".`},
				{Name: "prefix", Type: "string", Doc: `Text put before the signature, e.g. "sha256=".`},
			}}},
		sdkhttp.TLSSchema(sdkhttp.TLSSchemaOptions{
			Doc:       "TLS settings: a private CA, a client certificate for mutual TLS.",
			CAExample: "/etc/ssl/corp-ca.pem", ClientCert: true,
		}),
	}
	for _, name := range actionNames {
		blocks = append(blocks, actionBlock(name))
	}
	blocks = append(blocks, readStatusBlock())
	return sdk.Schema{
		Attributes: []sdk.Attribute{
			{Name: "base_url", Type: "string", Required: true,
				Doc: `Base URL of the API, e.g. "https://api.example.com". Action URLs are appended to it; an absolute action URL must have the same scheme and host, so credentials never go elsewhere.`},
			sdkhttp.TimeoutAttribute("the API"),
			{Name: "headers", Type: "map(string)",
				Doc: "Headers sent with every request, e.g. an API version. Put credentials in auth, not here."},
			{Name: "retryable_statuses", Type: "list(string)", Default: sdkhttp.JSONOf(defaultRetryable),
				Doc: `Statuses the host retries (honouring Retry-After): codes such as 429 or classes such as "5xx". Other failures are permanent.`},
			{Name: "body_secrets", Type: "map(string)", Sensitive: true,
				Doc: `Values written into every JSON object request body at a JSON path, after the template is rendered: secrets an API expects in the body (a routing key), which templates cannot read because env() and file() exist only at load time.`},
		},
		Blocks: blocks,
	}
}

// actionBlock declares one action's block.
func actionBlock(name string) sdk.Block {
	attrs := []sdk.Attribute{
		{Name: "method", Type: "string", Default: sdkhttp.JSONOf(defaultMethods[name]), Doc: "HTTP method."},
		{Name: "url", Type: "string", Required: true, PerAlert: true,
			Doc: "Template: the URL, appended to base_url (or absolute on the same host). May carry a query."},
		{Name: "path", Type: "list(string)", PerAlert: true,
			Doc: "Template: path segments appended to url, each percent-encoded, e.g. [correlation_key, \"close\"]."},
		{Name: "query", Type: "map(string)", PerAlert: true,
			Doc: "Template: query parameters, encoded by the plugin, e.g. { external_id = correlation_key }."},
		{Name: "headers", Type: "map(string)", PerAlert: true, Doc: "Template: headers of this request."},
		{Name: "body", Type: "string", PerAlert: true,
			Doc: "Template: the request body, typically jsonencode({ ... }). Sent as application/json unless headers say otherwise."},
		{Name: "success_statuses", Type: "list(string)", Default: sdkhttp.JSONOf(defaultSuccess),
			Doc: `Statuses that mean success: codes such as 201 or classes such as "2xx".`},
		{Name: "not_found_statuses", Type: "list(string)", Default: sdkhttp.JSONOf(defaultNotFound),
			Doc: "Statuses that mean the work item does not exist: lookup then finds nothing; update, resolve and reopen report it deleted so the host forgets it."},
	}
	if name == ActionFindCI {
		attrs = append(attrs, sdk.Attribute{Name: "body_path", Type: "string", Required: true,
			Doc: `JSON path in the create body where the found configuration item's id is written, e.g. "ticket.asset_id".`},
			sdk.Attribute{Name: "body_value", Type: "string", Default: sdkhttp.JSONOf("${find_ci.id}"),
				Doc: `What is written at body_path: text in which the plugin replaces ${find_ci.id} with the found id, e.g. "asset:$${find_ci.id}" ($${ is HCL's escape for a literal "${").`})
	}
	if name == ActionUpdate || name == ActionReopen {
		attrs = append(attrs, sdk.Attribute{Name: "fields_path", Type: "string",
			Doc: `JSON path of the object in this request's body that holds the route's fields, e.g. "ticket" for body = jsonencode({ ticket = merge(fields, { comment = { body = "…" } }) }). With it the route's field_policy applies: the keys it names that this re-fire must not write are removed, and the new values of those whose policy is "comment" go to comment_path. Without it the body is sent as rendered.`},
			sdk.Attribute{Name: "comment_path", Type: "string",
				Doc: `JSON path of the text in this request's body that the new values of the route fields whose policy is "comment" are appended to, one "name: value" line each, e.g. "ticket.comment.body". Needs fields_path.`})
	}
	return sdk.Block{
		Name: name, Nesting: sdk.NestingSingle, Required: name == ActionCreate, Doc: actionDocs[name],
		Schema: sdk.Schema{Attributes: attrs, Blocks: []sdk.Block{resultBlock(name)}},
	}
}

// resultBlock declares how an action's response is read.
func resultBlock(action string) sdk.Block {
	idDoc := "Where the work item's id is read: a JSON path into the response body (\"data.id\", \"result[0].sys_id\") or \"header:<Name>\". Without it the id is the correlation key (create) or stays as it was."
	if action == ActionFindCI {
		idDoc = "Where the configuration item's id is read: a JSON path into the response body or \"header:<Name>\". Nothing there means not found."
	}
	return sdk.Block{Name: "result", Nesting: sdk.NestingSingle,
		Doc: "How the response is read. Every source is a JSON path into the body or \"header:<Name>\"; a *_regex extracts its first capture group (or the whole match).",
		Schema: sdk.Schema{Attributes: []sdk.Attribute{
			{Name: "id", Type: "string", Doc: idDoc},
			{Name: "id_regex", Type: "string", Doc: `Regexp applied to the id, e.g. "([^/]+)$" for the last segment of a Location header.`},
			{Name: "key", Type: "string", Doc: "Where the human-facing key or number is read."},
			{Name: "key_regex", Type: "string", Doc: "Regexp applied to the key."},
			{Name: "url", Type: "string", Doc: "Where the link to the item in the tool's UI is read."},
			{Name: "url_regex", Type: "string", Doc: "Regexp applied to the url."},
			{Name: "state", Type: "string", Doc: "Where the item's status is read; compared with resolved_states."},
			{Name: "resolved_states", Type: "list(string)",
				Doc: `Status values that mean resolved, e.g. ["solved", "closed"]; any other value means open. Without state, the action decides: resolve means resolved, everything else open. On resolve and reopen the state is checked: resolve must leave a resolved state, reopen an open one, or the call fails permanently.`},
			{Name: "error", Type: "string",
				Doc: `Where a successful answer reports a failure, e.g. "[0]" for ["Status 'x' isn't a valid status"] or "errors": a value there (not empty, null or false) fails the call permanently with it.`},
			{Name: "error_regex", Type: "string", Doc: "Regexp the value at error must match to count as a failure."},
			{Name: "attributes", Type: "map(string)",
				Doc: `Further values kept on the work item, name to source, e.g. { project = "project.id" }; later calls' templates read them as work_item.attributes.<name>.`},
			{Name: "url_template", Type: "string",
				Doc: `Builds the work item's link when the API gives none: text in which the plugin replaces $${work_item.id}, $${work_item.key} and $${work_item.attributes.<name>} (each percent-encoded), e.g. "https://tracker.example.com/issues/$${work_item.id}". Excludes url.`},
		}}}
}
