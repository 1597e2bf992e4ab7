-- Each device's alarm rule runs between the alarm job's passes (issue 18): where every metric
-- rule stands after the readings judged so far (`petty_core::alarm::DeviceRuns`, a few hand-
-- written bytes), and the newest reading's event time they have seen. A pass over readings
-- newer than the watermark resumes the runs and reads only those readings; late readings, an
-- edited rule or a missing row rebuild the runs from the rule's window, as before.
--
-- `devices.alarms_late_from` is the oldest reading noted for the alarm job that arrived older
-- than the device's newest reading: only such a reading can be older than the runs'
-- watermark. Ingest sets it in the same transaction as `alarms_from`; a finished claim clears it.
ALTER TABLE devices ADD COLUMN alarms_late_from INTEGER;

CREATE TABLE alarm_runs (
    device_id    BLOB PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,
    watermark_ms INTEGER NOT NULL,
    runs         BLOB NOT NULL
) WITHOUT ROWID;
