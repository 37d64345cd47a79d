package servicenow

import (
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdkhttp"
)

// Schema is the plugin's `config {}` block, declared as data for the host.
func Schema() sdk.Schema {
	return sdk.Schema{
		Attributes: []sdk.Attribute{
			{Name: "instance_url", Type: "string", Required: true,
				Doc: `Base URL of the instance, e.g. "https://contoso.service-now.com".`},
			{Name: "mode", Type: "string", Default: sdkhttp.JSONOf(ModeIncident),
				Doc: `"incident" writes incidents through the Table API; "event" sends events to Event Management (/api/global/em/jsonv2) and lets its alert rules make incidents.`},
			sdkhttp.TimeoutAttribute("the instance"),
			{Name: "severity_map", Type: "map(object({urgency = number, impact = number}))",
				Default: sdkhttp.JSONOf(DefaultSeverityMap()),
				Doc:     "Urgency and impact (1 high … 3 low) per Azure severity Sev0 … Sev4; entries override the defaults one by one. Priority is computed by the instance and never sent."},
		},
		Blocks: []sdk.Block{
			sdkhttp.AuthSchema("How the plugin authenticates to the instance.", true,
				sdkhttp.AuthAttribute("type", `"basic", "oauth" (via oauth_token.do), "api_key" (REST API key header) or "certificate" (mutual TLS only; set tls.client_cert and tls.client_key).`),
				sdkhttp.AuthAttribute("username", "User for basic auth and the OAuth password grant."),
				sdkhttp.AuthAttribute("password", "Password for basic auth and the OAuth password grant; load it with file() or env()."),
				sdkhttp.AuthAttribute("client_id", "Client id of the instance's OAuth application (System OAuth > Application Registry)."),
				sdkhttp.AuthAttribute("client_secret", "Client secret of the OAuth application."),
				sdkhttp.AuthAttribute("grant_type", `"password" or "client_credentials"; defaults to "password" when username is set, else "client_credentials". A refresh token is used when the instance offers one.`),
				sdkhttp.AuthAttribute("token_url", "OAuth token endpoint; defaults to <instance_url>/oauth_token.do."),
				sdkhttp.AuthAttribute("api_key", "Token of a REST API key (System Web Services > API Access Policies > REST API Key)."),
				sdkhttp.AuthAttribute("api_key_header", "Header that carries the API key.", defaultAPIKeyHeader),
			),
			sdkhttp.TLSSchema(sdkhttp.TLSSchemaOptions{
				Doc:       "TLS settings: a private CA, a client certificate for mutual TLS.",
				CAExample: "/etc/ssl/snow-ca.pem", ClientCert: true,
			}),
			{Name: "incident", Nesting: sdk.NestingSingle,
				Doc: "Defaults for new incidents. A route's fields are applied after these and win.",
				Schema: sdk.Schema{Attributes: []sdk.Attribute{
					{Name: "table", Type: "string", Default: sdkhttp.JSONOf(defaultIncidentTable),
						Doc: "Table incidents are written to."},
					{Name: "caller_id", Type: "string", Doc: "sys_id (or user name) of the caller."},
					{Name: "assignment_group", Type: "string", Doc: "sys_id (or name) of the assignment group."},
					{Name: "category", Type: "string", Doc: "Incident category, e.g. \"software\"."},
					{Name: "subcategory", Type: "string", Doc: "Incident subcategory."},
					{Name: "contact_type", Type: "string", Doc: "Channel, e.g. \"monitoring\" where the instance has that choice."},
					{Name: "close_code", Type: "string", Default: sdkhttp.JSONOf(defaultCloseCode),
						Doc: "Resolution code set on resolve; the choice list differs by release (\"Solution provided\", \"Resolved by caller\", older \"Solved (Permanently)\")."},
					{Name: "correlation_display", Type: "string", Default: sdkhttp.JSONOf(defaultCorrelationDisplay),
						Doc: "Shown next to correlation_id on the incident."},
					{Name: "short_description_max", Type: "number", Default: sdkhttp.JSONOf(defaultShortDescriptionMax),
						Doc: "Length of the instance's short_description field; longer summaries are cut on a character boundary."},
					{Name: "correlation_id_max", Type: "number", Default: sdkhttp.JSONOf(defaultCorrelationIDMax),
						Doc: "Length of the instance's correlation_id field; longer correlation keys are stored as their SHA-256 (64 hex characters)."},
				}}},
			{Name: "cmdb", Nesting: sdk.NestingSingle,
				Doc: "Binding configuration items to the CMDB.",
				Schema: sdk.Schema{Attributes: []sdk.Attribute{
					{Name: "enabled", Type: "bool", Default: sdkhttp.JSONOf(true),
						Doc: "Look configuration items up, set cmdb_ci to the first one found and, with affected_cis, list them all as Affected CIs."},
					{Name: "table", Type: "string", Default: sdkhttp.JSONOf(defaultCMDBTable),
						Doc: "CMDB class searched, e.g. cmdb_ci or cmdb_ci_vm_instance; child classes are included by the instance."},
					{Name: "match_order", Type: "list(string)", Default: sdkhttp.JSONOf([]string{MatchObjectID, MatchName}),
						Doc: `How a CI is looked up, in order: "object_id" equal to the ARM resource id, "name" equal to the resource name (case-insensitive).`},
					{Name: "cache_ttl", Type: "string", Default: sdkhttp.JSONOf("15m"),
						Doc: "How long a found CI is remembered."},
					{Name: "miss_ttl", Type: "string", Default: sdkhttp.JSONOf("5m"),
						Doc: "How long a CI that was not found is remembered, so a missing CI does not cost a lookup per alert."},
					{Name: "affected_cis", Type: "bool", Default: sdkhttp.JSONOf(true),
						Doc: "Record every bound CI, the one in cmdb_ci included, as an Affected CI of the incident (a task_ci record); missing ones are added on create, re-fire and reopen, never twice. Incident mode only; needs enabled."},
				}}},
			{Name: "event", Nesting: sdk.NestingSingle,
				Doc: "Event Management settings, used when mode = \"event\".",
				Schema: sdk.Schema{Attributes: []sdk.Attribute{
					{Name: "source", Type: "string", Default: sdkhttp.JSONOf(defaultEventSource), Doc: "Event source."},
					{Name: "event_class", Type: "string", Default: sdkhttp.JSONOf(defaultEventClass), Doc: "Event class (source instance)."},
					{Name: "severity_map", Type: "map(number)", Default: sdkhttp.JSONOf(DefaultEventSeverityMap()),
						Doc: "Event severity (1 critical, 2 major, 3 minor, 4 warning, 5 info) per Azure severity; a resolved alert is sent as 0 (clear)."},
				}}},
		},
	}
}
