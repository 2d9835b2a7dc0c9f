package main

import (
	"context"
	"fmt"
	"io"
	"net"

	"github.com/colo-portal/portal/models"
)

// demoTokenName names the API token each demo start makes for the Aurora
// customer and prints, so that the JSON API can be tried at once.
const demoTokenName = "demo (printed at start)"

// demoAPIToken revokes the token an earlier demo start printed and makes a
// new read-only one for ops@aurora.example: only its hash is stored, so a
// start cannot print the old one again.
func demoAPIToken(ctx context.Context, store *models.Store, out io.Writer, listen string) error {
	u, err := store.GetUserByEmail(ctx, "ops@aurora.example")
	if err != nil {
		return fmt.Errorf("demo API token: %w", err)
	}
	a := models.UserActor(u, "")
	toks, err := store.ListAPITokens(ctx, u.ID)
	if err != nil {
		return err
	}
	for _, t := range toks {
		if t.Name == demoTokenName && t.RevokedAt == nil {
			if err := store.RevokeAPIToken(ctx, a, u, t.ID); err != nil {
				return err
			}
		}
	}
	_, secret, err := store.CreateAPIToken(ctx, a, models.APITokenInput{Name: demoTokenName, Days: 30})
	if err != nil {
		return fmt.Errorf("demo API token: %w", err)
	}
	fmt.Fprintf(out, "A read-only API token of ops@aurora.example, made for this start (the OpenAPI document is /api/v1/openapi.json):\n")
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("demo API token: listen address %q: %w", listen, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	fmt.Fprintf(out, "  curl -H 'Authorization: Bearer %s' http://%s/api/v1/devices\n", secret, net.JoinHostPort(host, port))
	return nil
}
