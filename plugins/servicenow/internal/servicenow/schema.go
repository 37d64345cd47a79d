package servicenow

import (
	"encoding/json"

	"github.com/itsm-connector/itsm-connector/sdk"
)

// Schema is the plugin's `config {}` block, declared as data for the host.
func Schema() sdk.Schema {
	return sdk.Schema{
		Attributes: []sdk.Attribute{
			{Name: "instance_url", Type: "string", Required: true,
				Doc: `Base URL of the instance, e.g. "https://contoso.service-now.com".`},
			{Name: "mode", Type: "string", Default: jsonOf(ModeIncident),
				Doc: `"incident" writes incidents through the Table API; "event" sends events to Event Management (/api/global/em/jsonv2) and lets its alert rules make incidents.`},
			{Name: "timeout", Type: "string", Default: jsonOf("30s"),
				Doc: "Timeout of one HTTP request to the instance, as a duration."},
			{Name: "severity_map", Type: "map(object({urgency = number, impact = number}))",
				Default: jsonOf(DefaultSeverityMap()),
				Doc:     "Urgency and impact (1 high … 3 low) per Azure severity Sev0 … Sev4; entries override the defaults one by one. Priority is computed by the instance and never sent."},
		},
		Blocks: []sdk.Block{
			{Name: "auth", Nesting: sdk.NestingSingle, Required: true,
				Doc: "How the plugin authenticates to the instance.",
				Schema: sdk.Schema{Attributes: []sdk.Attribute{
					{Name: "type", Type: "string", Required: true,
						Doc: `"basic", "oauth" (via oauth_token.do), "api_key" (REST API key header) or "certificate" (mutual TLS only; set tls.client_cert and tls.client_key).`},
					{Name: "username", Type: "string",
						Doc: "User for basic auth and the OAuth password grant."},
					{Name: "password", Type: "string", Sensitive: true,
						Doc: "Password for basic auth and the OAuth password grant; load it with file() or env()."},
					{Name: "client_id", Type: "string",
						Doc: "Client id of the instance's OAuth application (System OAuth > Application Registry)."},
					{Name: "client_secret", Type: "string", Sensitive: true,
						Doc: "Client secret of the OAuth application."},
					{Name: "grant_type", Type: "string",
						Doc: `"password" or "client_credentials"; defaults to "password" when username is set, else "client_credentials". A refresh token is used when the instance offers one.`},
					{Name: "token_url", Type: "string",
						Doc: "OAuth token endpoint; defaults to <instance_url>/oauth_token.do."},
					{Name: "api_key", Type: "string", Sensitive: true,
						Doc: "Token of a REST API key (System Web Services > API Access Policies > REST API Key)."},
					{Name: "api_key_header", Type: "string", Default: jsonOf(defaultAPIKeyHeader),
						Doc: "Header that carries the API key."},
				}}},
			{Name: "tls", Nesting: sdk.NestingSingle,
				Doc: "TLS settings: a private CA, a client certificate for mutual TLS.",
				Schema: sdk.Schema{Attributes: []sdk.Attribute{
					{Name: "ca_cert", Type: "string",
						Doc: "PEM CA bundle trusted in addition to the system roots, e.g. file(\"/etc/ssl/snow-ca.pem\")."},
					{Name: "client_cert", Type: "string",
						Doc: "PEM client certificate presented for mutual TLS."},
					{Name: "client_key", Type: "string", Sensitive: true,
						Doc: "PEM private key of client_cert."},
					{Name: "insecure_skip_verify", Type: "bool", Default: jsonOf(false),
						Doc: "Turns TLS certificate verification off. Never in production: a warning is logged at every start."},
				}}},
			{Name: "incident", Nesting: sdk.NestingSingle,
				Doc: "Defaults for new incidents. A route's fields are applied after these and win.",
				Schema: sdk.Schema{Attributes: []sdk.Attribute{
					{Name: "table", Type: "string", Default: jsonOf(defaultIncidentTable),
						Doc: "Table incidents are written to."},
					{Name: "caller_id", Type: "string", Doc: "sys_id (or user name) of the caller."},
					{Name: "assignment_group", Type: "string", Doc: "sys_id (or name) of the assignment group."},
					{Name: "category", Type: "string", Doc: "Incident category, e.g. \"software\"."},
					{Name: "subcategory", Type: "string", Doc: "Incident subcategory."},
					{Name: "contact_type", Type: "string", Doc: "Channel, e.g. \"monitoring\" where the instance has that choice."},
					{Name: "close_code", Type: "string", Default: jsonOf(defaultCloseCode),
						Doc: "Resolution code set on resolve; the choice list differs by release (\"Solution provided\", \"Resolved by caller\", older \"Solved (Permanently)\")."},
					{Name: "correlation_display", Type: "string", Default: jsonOf(defaultCorrelationDisplay),
						Doc: "Shown next to correlation_id on the incident."},
					{Name: "short_description_max", Type: "number", Default: jsonOf(defaultShortDescriptionMax),
						Doc: "Length of the instance's short_description field; longer summaries are cut on a character boundary."},
					{Name: "correlation_id_max", Type: "number", Default: jsonOf(defaultCorrelationIDMax),
						Doc: "Length of the instance's correlation_id field; longer correlation keys are stored as their SHA-256 (64 hex characters)."},
				}}},
			{Name: "cmdb", Nesting: sdk.NestingSingle,
				Doc: "Binding configuration items to the CMDB.",
				Schema: sdk.Schema{Attributes: []sdk.Attribute{
					{Name: "enabled", Type: "bool", Default: jsonOf(true),
						Doc: "Look configuration items up, set cmdb_ci to the first one found and, with affected_cis, list them all as Affected CIs."},
					{Name: "table", Type: "string", Default: jsonOf(defaultCMDBTable),
						Doc: "CMDB class searched, e.g. cmdb_ci or cmdb_ci_vm_instance; child classes are included by the instance."},
					{Name: "match_order", Type: "list(string)", Default: jsonOf([]string{MatchObjectID, MatchName}),
						Doc: `How a CI is looked up, in order: "object_id" equal to the ARM resource id, "name" equal to the resource name (case-insensitive).`},
					{Name: "cache_ttl", Type: "string", Default: jsonOf("15m"),
						Doc: "How long a found CI is remembered."},
					{Name: "miss_ttl", Type: "string", Default: jsonOf("5m"),
						Doc: "How long a CI that was not found is remembered, so a missing CI does not cost a lookup per alert."},
					{Name: "affected_cis", Type: "bool", Default: jsonOf(true),
						Doc: "Record every bound CI, the one in cmdb_ci included, as an Affected CI of the incident (a task_ci record); missing ones are added on create, re-fire and reopen, never twice. Incident mode only; needs enabled."},
				}}},
			{Name: "event", Nesting: sdk.NestingSingle,
				Doc: "Event Management settings, used when mode = \"event\".",
				Schema: sdk.Schema{Attributes: []sdk.Attribute{
					{Name: "source", Type: "string", Default: jsonOf(defaultEventSource), Doc: "Event source."},
					{Name: "event_class", Type: "string", Default: jsonOf(defaultEventClass), Doc: "Event class (source instance)."},
					{Name: "severity_map", Type: "map(number)", Default: jsonOf(DefaultEventSeverityMap()),
						Doc: "Event severity (1 critical, 2 major, 3 minor, 4 warning, 5 info) per Azure severity; a resolved alert is sent as 0 (clear)."},
				}}},
		},
	}
}

func jsonOf(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // static values only
	}
	return b
}
