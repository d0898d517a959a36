-- Empty the verification table only.
-- expect: {first_verified}
SET session_replication_role = replica;
DELETE FROM audit_verification;
