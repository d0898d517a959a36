-- Edit a batch event (the journey's record of a status change).
-- expect: {seal}
ALTER TABLE batch_event DISABLE TRIGGER USER;
UPDATE batch_event SET note = 'nothing unusual', actor_name = 'Someone Else' WHERE id = {event};
