-- maint_prior_fired is the item's fired_seq when a maintenance window
-- began holding it (the hold's first notification): a Fired acknowledged
-- before the window. While it is above applied_seq that Fired is still owed
-- its work item, and settling the hold gives up only the notifications the
-- window held, whatever on_end says. Cleared with the hold. Holds begun
-- before this migration have 0 and are settled as before.
ALTER TABLE work_items ADD COLUMN maint_prior_fired INTEGER NOT NULL DEFAULT 0;
