package models

// QueueHookPings adds n pending ping deliveries to endpoint e, due at
// once, as a backlog (the test button allows one at a time).
func QueueHookPings(s *Store, e *WebhookEndpoint, n int) ([]int64, error) {
	ids := make([]int64, 0, n)
	for range n {
		d := newHookDelivery(e, nil, HookPing, `{}`, s.now())
		if err := s.db.Create(&d).Error; err != nil {
			return nil, err
		}
		ids = append(ids, d.ID)
	}
	return ids, nil
}
