-- Rollups folded behind ingest (issue 18). The readings writer keeps the summaries of recent
-- readings in memory and folds them into `rollups` about once a second, instead of upserting
-- three wide rows in every transaction. Until a fold, these columns hold the event-time range
-- of the device's readings whose summaries are not yet in `rollups`; they are set in the
-- transaction that stores the readings and cleared in the one that folds them. A process that
-- stops without folding (a crash, `kill -9`) leaves them set, and the next start recomputes
-- those periods from the stored readings.
ALTER TABLE devices ADD COLUMN rollups_pending_from INTEGER;
ALTER TABLE devices ADD COLUMN rollups_pending_to INTEGER;
