-- The work version at which ingest last noted a late reading for the alarm job (issue 18).
-- A finished claim clears `devices.alarms_late_from` when it saw every late reading noted
-- (this version is no newer than the claim's), even if in-order readings arrived during the
-- pass. Before, only a pass during which nothing arrived cleared it, so under steady ingest
-- one out-of-order reading made every later pass rebuild its runs from the rules' windows.
ALTER TABLE devices ADD COLUMN alarms_late_version INTEGER;

UPDATE devices SET alarms_late_version = work_version WHERE alarms_late_from IS NOT NULL;
