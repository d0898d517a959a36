-- Put another person's name on an entry.
-- expect: {e3}
ALTER TABLE audit_log DISABLE TRIGGER USER;
UPDATE audit_log SET actor_name = 'Someone Else', actor_user_id = NULL WHERE id = {e3};
