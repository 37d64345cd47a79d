-- work_items_due also holds lease_until and dirty_since, so the queue
-- statistics every /metrics scrape reads (queued, oldest pending, due,
-- in flight, per backend) come from the index alone instead of reading
-- every queued row with its alert. The claim reads the same index and now
-- skips leased items without reading their rows.
DROP INDEX work_items_due;
CREATE INDEX work_items_due ON work_items (backend, due_at, lease_until, dirty_since) WHERE dirty = 1 AND dead = 0;
