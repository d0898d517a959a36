-- Change the JSON metadata of a batch event in replica mode.
-- expect: {seal}
SET session_replication_role = replica;
UPDATE batch_event SET metadata = '{"edited": true}' WHERE id = {event};
