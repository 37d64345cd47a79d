-- Tracing (telemetry { traces {} }): trace_parent is the W3C trace context
-- of the notification that set the desired state, so that its reconcile,
-- on any replica and after a restart, joins that alert's trace; events
-- record the trace id they belong to, so an operator goes from a work
-- item's audit trail to its trace. Both are empty when tracing is off or
-- the trace was not sampled.
ALTER TABLE work_items ADD COLUMN trace_parent TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN trace_id TEXT NOT NULL DEFAULT '';
