package jira

import (
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdkhttp"
)

// Schema is the plugin's `config {}` block, declared as data for the host.
func Schema() sdk.Schema {
	return sdk.Schema{
		Attributes: []sdk.Attribute{
			{Name: "url", Type: "string", Required: true,
				Doc: `Base URL of the site, e.g. "https://contoso.atlassian.net" or "https://jira.example.com" (with its context path, if any).`},
			{Name: "flavor", Type: "string", Required: true,
				Doc: `"cloud" (REST API v3, descriptions and comments in Atlassian Document Format) or "datacenter" (Data Center or Server: REST API v2, plain text).`},
			{Name: "mode", Type: "string", Default: sdkhttp.JSONOf(ModeIssue),
				Doc: `"issue" creates issues through the REST API; "service_desk" creates Jira Service Management requests (see the service_desk block).`},
			sdkhttp.TimeoutAttribute("Jira"),
			{Name: "project", Type: "string",
				Doc: `Key (or id) of the project issues are created in, e.g. "OPS". Required with mode = "issue".`},
			{Name: "issue_type", Type: "string", Default: sdkhttp.JSONOf(defaultIssueType),
				Doc: `Name of the issue type, e.g. "Task", "Bug" or "Incident".`},
			{Name: "labels", Type: "list(string)",
				Doc: "Labels on every new issue (no spaces). The correlation label is added to them."},
			{Name: "components", Type: "list(string)",
				Doc: "Component names set on every new issue."},
			{Name: "priority_map", Type: "map(string)", Default: sdkhttp.JSONOf(DefaultPriorityMap()),
				Doc: `Priority name per Azure severity Sev0 … Sev4; entries override the defaults one by one; "" sends no priority for that severity.`},
			{Name: "field_cache_ttl", Type: "string", Default: sdkhttp.JSONOf("1h"),
				Doc: "How long the field metadata (custom field names → ids) is cached."},
			{Name: "search_consistency_delay", Type: "string", Default: sdkhttp.JSONOf(DefaultSearchConsistencyDelay.String()),
				Doc: `How long Jira's search may take to find a new issue. After a create whose answer was lost, the host waits this long before Lookup searches for the issue, so it is not created twice. "0s" does not wait.`},
		},
		Blocks: []sdk.Block{
			sdkhttp.AuthSchema("How the plugin authenticates to Jira.", true,
				sdkhttp.AuthAttribute("type", `"basic" (Cloud: email + api_token; Data Center: username + password) or "bearer" (Data Center personal access token in token).`),
				sdk.Attribute{Name: "email", Type: "string", Doc: "Jira Cloud: the account's e-mail address."},
				sdk.Attribute{Name: "api_token", Type: "string", Sensitive: true, Doc: "Jira Cloud: an API token of the account; load it with env() or file()."},
				sdkhttp.AuthAttribute("username", "Data Center basic auth: the user name."),
				sdkhttp.AuthAttribute("password", "Data Center basic auth: the user's password."),
				sdkhttp.AuthAttribute("token", "Data Center: a personal access token, sent as a bearer token."),
			),
			sdkhttp.TLSSchema(sdkhttp.TLSSchemaOptions{
				Doc:       "TLS settings for a Data Center site behind a private CA.",
				CAExample: "/etc/ssl/jira-ca.pem",
			}),
			{Name: "correlation", Nesting: sdk.NestingSingle,
				Doc: "How issues are stamped with their correlation key so that a lost create is found again.",
				Schema: sdk.Schema{Attributes: []sdk.Attribute{
					{Name: "label_prefix", Type: "string", Default: sdkhttp.JSONOf(defaultLabelPrefix),
						Doc: `Start of the correlation label, followed by 16 hex digits of the key's SHA-256, e.g. "itsm-3f2a…".`},
					{Name: "field", Type: "string",
						Doc: "Name or id of a single-line text custom field that holds the correlation key; Lookup then searches it instead of the label."},
				}}},
			{Name: "comments", Nesting: sdk.NestingSingle,
				Doc: "Comments added when an alert fires again.",
				Schema: sdk.Schema{Attributes: []sdk.Attribute{
					{Name: "min_interval", Type: "string", Default: sdkhttp.JSONOf("10m"),
						Doc: "At most one re-fire comment per issue in this interval; re-fires in between are counted and summarized in the next comment. \"0s\" comments every time."},
				}}},
			{Name: "resolve", Nesting: sdk.NestingSingle,
				Doc: "How an issue is resolved when its alert resolves.",
				Schema: sdk.Schema{Attributes: []sdk.Attribute{
					{Name: "transition", Type: "string",
						Doc: "Name of the transition to take; by default the first available one whose target status is in the Done category."},
					{Name: "resolution", Type: "string", Default: sdkhttp.JSONOf(defaultResolution),
						Doc: "Resolution sent when the transition's screen has the resolution field."},
				}}},
			{Name: "reopen", Nesting: sdk.NestingSingle,
				Doc: "How a resolved issue is reopened when its alert fires again inside the route's reopen window.",
				Schema: sdk.Schema{Attributes: []sdk.Attribute{
					{Name: "transition", Type: "string",
						Doc: "Name of the transition to take; by default the first one to a status in the To Do (new) category, else In Progress (indeterminate)."},
					{Name: "wont_fix_resolutions", Type: "list(string)", Default: sdkhttp.JSONOf(DefaultWontFixResolutions()),
						Doc: "Resolutions that mean a person decided not to act: such an issue is never reopened, a new issue is created instead."},
				}}},
			{Name: "service_desk", Nesting: sdk.NestingSingle,
				Doc: `Jira Service Management settings, used when mode = "service_desk".`,
				Schema: sdk.Schema{Attributes: []sdk.Attribute{
					{Name: "service_desk_id", Type: "string", Doc: "Numeric id of the service desk."},
					{Name: "request_type_id", Type: "string", Doc: "Numeric id of the request type, e.g. the desk's incident type."},
					{Name: "raise_on_behalf_of", Type: "string", Doc: "Account id (Cloud) or user name (Data Center) of the customer the request is raised for."},
				}}},
		},
	}
}
