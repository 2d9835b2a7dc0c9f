package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
)

// orgAdd is `portal org add --slug S --name N`.
func orgAdd(ctx context.Context, store *models.Store, args []string, stdout io.Writer) error {
	fs := newFlagSet("org add")
	slug := fs.String("slug", "", "short unique name, e.g. acme")
	name := fs.String("name", "", "organization name")
	address := fs.String("address", "", "postal contact address")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("org add: %w (usage: portal org add --slug S --name N [--address A])", err)
	}
	o, err := store.CreateOrg(ctx, models.SystemActor("cli"), models.OrgInput{Slug: *slug, Name: *name, ContactAddress: *address})
	if err != nil {
		return cliError("org add", err)
	}
	fmt.Fprintf(stdout, "organization %d created: %s (%s)\n", o.ID, o.Name, o.Slug)
	return nil
}

// userAdd is `portal user add`; the password comes from standard input so
// it never shows in the process list or shell history.
func userAdd(ctx context.Context, store *models.Store, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := newFlagSet("user add")
	email := fs.String("email", "", "sign-in email")
	name := fs.String("name", "", "full name")
	role := fs.String("role", "", "customer, reception, engineer, service or admin")
	org := fs.String("org", "", "organization slug (customers only)")
	phone := fs.String("phone", "", "phone number shown to customers")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("user add: %w (usage: portal user add --email E --name N --role R [--org S])", err)
	}
	r, err := models.ParseRole(*role)
	if err != nil {
		return fmt.Errorf("user add: --role must be one of customer, reception, engineer, service, admin")
	}
	in := models.UserInput{Email: *email, Name: *name, Role: r, Phone: *phone}
	if *org != "" {
		o, err := store.GetOrgBySlug(ctx, *org)
		if err != nil {
			return fmt.Errorf("user add: no organization with slug %q", *org)
		}
		in.OrgID = &o.ID
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && err != io.EOF {
		return fmt.Errorf("user add: read password from standard input: %w", err)
	}
	in.Password = strings.TrimRight(line, "\r\n")
	u, err := store.CreateUser(ctx, models.SystemActor("cli"), in)
	if err != nil {
		return cliError("user add", err)
	}
	fmt.Fprintf(stdout, "user %d created: %s <%s> role %s\n", u.ID, u.Name, u.Email, u.Role)
	return nil
}

// cliError words a validation error for a shell user, in English.
func cliError(what string, err error) error {
	if v, ok := models.AsValidation(err); ok {
		return fmt.Errorf("%s: %s: %s", what, v.Field, englishMessage(v))
	}
	return fmt.Errorf("%s: %w", what, err)
}

func englishMessage(v *models.ValidationError) string {
	return locales.For("en").T(v.Key, v.Args...)
}
