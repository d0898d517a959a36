-- session_replication_role = replica skips the append-only triggers.
-- expect: {e4}
SET session_replication_role = replica;
UPDATE audit_log SET action = 'DELETE' WHERE id = {e4};
