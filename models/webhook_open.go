package models

// OpenWebhookSecret returns the signing secret of e (as ListWebhooks or
// GetWebhook read it, sealed) in the clear, for a receiver in the same
// process: the demo's, which checks the signatures of the endpoints that
// point at it. No page or API answer may show it: the secret is shown once,
// when made or rotated.
func (s *Store) OpenWebhookSecret(e *WebhookEndpoint) (string, error) {
	secret, err := s.hookKey.Open(e.Secret)
	return secret, wrap(err, "open webhook secret")
}
