-- Delete a batch event.
-- expect: {seal}
SET session_replication_role = replica;
DELETE FROM batch_event WHERE id = {event};
