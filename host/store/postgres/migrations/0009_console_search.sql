-- The console lists work items by severity and searches them by alert rule,
-- correlation key and ticket key. The rule and the severity live inside the
-- stored alert, the ticket key inside the ref (both JSON), so they get
-- columns of their own, written with the alert and the ref, and searches
-- are index lookups instead of a read of every stored alert. ref_key is the
-- ticket's key, or its id when the plugin gave no key (what the console
-- shows).
ALTER TABLE work_items ADD COLUMN rule TEXT NOT NULL DEFAULT '';
ALTER TABLE work_items ADD COLUMN severity TEXT NOT NULL DEFAULT '';
ALTER TABLE work_items ADD COLUMN ref_key TEXT NOT NULL DEFAULT '';
UPDATE work_items SET
    rule = coalesce(alert::jsonb ->> 'rule', ''),
    severity = coalesce(alert::jsonb ->> 'severity_label', ''),
    ref_key = CASE WHEN ref = '' THEN ''
        ELSE coalesce(nullif(ref::jsonb ->> 'key', ''), ref::jsonb ->> 'id', '') END;
CREATE INDEX work_items_rule ON work_items (rule);
CREATE INDEX work_items_correlation_key ON work_items (correlation_key);
CREATE INDEX work_items_ref_key ON work_items (ref_key) WHERE ref_key <> '';
-- Dead items are few; the console lists them newest first.
CREATE INDEX work_items_dead ON work_items (id) WHERE dead = 1;
