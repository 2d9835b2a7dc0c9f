package models_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

func TestOrganizationsSeeOnlyTheirOwnUsers(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, _ *dbtest.Clock) {
		f := dbtest.Seed(t, s)
		ctx := context.Background()
		sys := models.SystemActor("test")
		carol, err := s.CreateUser(ctx, sys, models.UserInput{Email: "carol@alpha.test", Name: "Carol Alpha", Role: models.RoleCustomer, OrgID: &f.OrgA.ID, Password: dbtest.Password})
		if err != nil {
			t.Fatal(err)
		}

		lookups := []struct {
			name  string
			org   func() int64
			user  func() int64
			found bool
		}{
			{"organization A finds its own customer", func() int64 { return f.OrgA.ID }, func() int64 { return f.CustA.ID }, true},
			{"organization B finds its own customer", func() int64 { return f.OrgB.ID }, func() int64 { return f.CustB.ID }, true},
			{"organization B does not find A's customer", func() int64 { return f.OrgB.ID }, func() int64 { return f.CustA.ID }, false},
			{"organization A does not find B's customer", func() int64 { return f.OrgA.ID }, func() int64 { return f.CustB.ID }, false},
			{"an organization does not find staff, not even its own service rep", func() int64 { return f.OrgA.ID }, func() int64 { return f.Service.ID }, false},
			{"an organization does not find a user that does not exist", func() int64 { return f.OrgA.ID }, func() int64 { return 999999 }, false},
			{"an unknown organization finds nobody", func() int64 { return 999999 }, func() int64 { return f.CustA.ID }, false},
		}
		for _, c := range lookups {
			t.Run(c.name, func(t *testing.T) {
				u, err := s.GetOrgUser(ctx, models.OrgScope(c.org()), c.user())
				if c.found {
					if err != nil || u.ID != c.user() || u.OrgID == nil || *u.OrgID != c.org() {
						t.Fatalf("GetOrgUser = %+v, %v", u, err)
					}
					return
				}
				if !errors.Is(err, models.ErrNotFound) || u != nil {
					t.Fatalf("GetOrgUser = %+v, %v; want ErrNotFound", u, err)
				}
			})
		}

		lists := []struct {
			name string
			org  func() int64
			want func() []int64 // in name order
		}{
			{"organization A lists its two customers by name", func() int64 { return f.OrgA.ID }, func() []int64 { return []int64{f.CustA.ID, carol.ID} }},
			{"organization B lists only its own customer", func() int64 { return f.OrgB.ID }, func() []int64 { return []int64{f.CustB.ID} }},
			{"an unknown organization lists nobody", func() int64 { return 999999 }, func() []int64 { return nil }},
		}
		for _, c := range lists {
			t.Run(c.name, func(t *testing.T) {
				us, err := s.ListOrgUsers(ctx, models.AllOrgs(), c.org())
				if err != nil {
					t.Fatal(err)
				}
				want := c.want()
				if len(us) != len(want) {
					t.Fatalf("listed %d users, want %d: %+v", len(us), len(want), us)
				}
				for i, u := range us {
					if u.ID != want[i] || u.OrgID == nil || *u.OrgID != c.org() {
						t.Fatalf("user %d is %d of org %v, want %d of %d", i, u.ID, u.OrgID, want[i], c.org())
					}
				}
			})
		}

		t.Run("the admin list filtered by organization shows only that organization", func(t *testing.T) {
			us, err := s.ListUsers(ctx, models.AllOrgs(), models.UserFilter{OrgID: f.OrgB.ID})
			if err != nil {
				t.Fatal(err)
			}
			if len(us) != 1 || us[0].ID != f.CustB.ID {
				t.Fatalf("listed %+v, want only %s", us, f.CustB.Email)
			}
		})
	})
}

func TestCreateUserValidation(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, _ *dbtest.Clock) {
		f := dbtest.Seed(t, s)
		ctx := context.Background()
		customer := func(email string) models.UserInput {
			return models.UserInput{Email: email, Name: "New Customer", Role: models.RoleCustomer, OrgID: &f.OrgA.ID, Password: dbtest.Password}
		}
		with := func(in models.UserInput, change func(*models.UserInput)) models.UserInput {
			change(&in)
			return in
		}
		cases := []struct {
			name       string
			in         models.UserInput
			field, key string
		}{
			{"a customer without an organization is refused", with(customer("n1@alpha.test"), func(in *models.UserInput) { in.OrgID = nil }), "org", "error.customer_needs_org"},
			{"a customer of an unknown organization is refused", with(customer("n2@alpha.test"), func(in *models.UserInput) { in.OrgID = ptr(int64(999999)) }), "org", "error.org_unknown"},
			{"an admin with an organization is refused", with(customer("n3@idc.test"), func(in *models.UserInput) { in.Role = models.RoleAdmin }), "org", "error.staff_no_org"},
			{"an engineer with an organization is refused", with(customer("n4@idc.test"), func(in *models.UserInput) { in.Role = models.RoleEngineer }), "org", "error.staff_no_org"},
			{"a service rep with an organization is refused", with(customer("n5@idc.test"), func(in *models.UserInput) { in.Role = models.RoleService }), "org", "error.staff_no_org"},
			{"a receptionist with an organization is refused", with(customer("n6@idc.test"), func(in *models.UserInput) { in.Role = models.RoleReception }), "org", "error.staff_no_org"},
			{"an unknown role is refused", with(customer("n7@alpha.test"), func(in *models.UserInput) { in.Role = "owner" }), "role", "error.role_invalid"},
			{"an empty role is refused", with(customer("n8@alpha.test"), func(in *models.UserInput) { in.Role = "" }), "role", "error.role_invalid"},
			{"an empty email is refused", customer("   "), "email", "error.required"},
			{"an email without an at sign is refused", customer("alpha.test"), "email", "error.email_invalid"},
			{"an email without a dot in the domain is refused", customer("n9@alpha"), "email", "error.email_invalid"},
			{"an email with a display name is refused", customer("Nine <n9@alpha.test>"), "email", "error.email_invalid"},
			{"two addresses are refused", customer("n9@alpha.test, n10@alpha.test"), "email", "error.email_invalid"},
			{"an email over 254 bytes is refused", customer(strings.Repeat("n", 64) + "@" + strings.Repeat("d", 186) + ".test"), "email", "error.email_invalid"},
			{"a blank name is refused", with(customer("n11@alpha.test"), func(in *models.UserInput) { in.Name = "  " }), "name", "error.required"},
			{"a name over 200 bytes is refused", with(customer("n12@alpha.test"), func(in *models.UserInput) { in.Name = strings.Repeat("n", 201) }), "name", "error.too_long"},
			{"a phone number over 40 bytes is refused", with(customer("n13@alpha.test"), func(in *models.UserInput) { in.Phone = strings.Repeat("1", 41) }), "phone", "error.too_long"},
			{"a weak password is refused", with(customer("n14@alpha.test"), func(in *models.UserInput) { in.Password = "password1234" }), "password", "error.password_common"},
			{"a password built from the email is refused", with(customer("frankly@alpha.test"), func(in *models.UserInput) { in.Password = "frankly-my-dear" }), "password", "error.password_contains_email"},
			{"an email already taken is refused", customer(f.CustB.Email), "email", "error.email_taken"},
			{"an email taken in another case is refused", customer(strings.ToUpper(f.Admin.Email)), "email", "error.email_taken"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				before, _ := s.CountUsers(ctx)
				audits := len(auditOf(t, s, models.AuditUserCreated))
				u, err := s.CreateUser(ctx, models.UserActor(f.Admin, ""), c.in)
				wantInvalid(t, err, c.field, c.key)
				if u != nil {
					t.Fatalf("returned a user with the error: %+v", u)
				}
				if after, _ := s.CountUsers(ctx); after != before {
					t.Fatalf("users went from %d to %d", before, after)
				}
				if got := len(auditOf(t, s, models.AuditUserCreated)); got != audits {
					t.Fatalf("creation events went from %d to %d", audits, got)
				}
			})
		}

		accepted := []struct {
			name  string
			in    models.UserInput
			email string
		}{
			{"a staff member without an organization is created", models.UserInput{Email: "ops@idc.test", Name: "Ops", Role: models.RoleEngineer, Password: dbtest.Password}, "ops@idc.test"},
			{"an email is stored trimmed and lowercased", with(customer("  Dave.Alpha@Alpha.TEST "), func(in *models.UserInput) { in.Name = "  Dave  " }), "dave.alpha@alpha.test"},
			{"an unsupported locale is dropped rather than refused", with(customer("erin@alpha.test"), func(in *models.UserInput) { in.Locale = "fr" }), "erin@alpha.test"},
		}
		for _, c := range accepted {
			t.Run(c.name, func(t *testing.T) {
				u, err := s.CreateUser(ctx, models.UserActor(f.Admin, ""), c.in)
				if err != nil {
					t.Fatal(err)
				}
				got, err := s.GetUserByEmail(ctx, strings.ToUpper(c.email))
				if err != nil || got.ID != u.ID || got.Email != c.email {
					t.Fatalf("stored %+v, %v; want %s", got, err, c.email)
				}
				if strings.TrimSpace(got.Name) != got.Name || got.Locale != "" && got.Locale != "en" && got.Locale != "zh-CN" {
					t.Fatalf("stored name %q locale %q", got.Name, got.Locale)
				}
				if ok, _ := dbtest.FastHasher.Verify(got.PasswordHash, c.in.Password); !ok {
					t.Fatal("stored hash does not verify the password")
				}
			})
		}

		t.Run("changing an email to one already taken is refused", func(t *testing.T) {
			_, err := s.UpdateUser(ctx, models.UserActor(f.Admin, ""), f.CustA.ID, models.UserInput{
				Email: f.CustB.Email, Name: f.CustA.Name, Role: models.RoleCustomer, OrgID: &f.OrgA.ID})
			wantInvalid(t, err, "email", "error.email_taken")
			u, _ := s.GetUser(ctx, f.CustA.ID)
			if u.Email != f.CustA.Email {
				t.Fatalf("email changed to %s", u.Email)
			}
		})

		t.Run("updating a staff member into an organization is refused", func(t *testing.T) {
			_, err := s.UpdateUser(ctx, models.UserActor(f.Admin, ""), f.Engineer.ID, models.UserInput{
				Email: f.Engineer.Email, Name: f.Engineer.Name, Role: models.RoleEngineer, OrgID: &f.OrgA.ID})
			wantInvalid(t, err, "org", "error.staff_no_org")
		})

		t.Run("updating a user who does not exist is not found", func(t *testing.T) {
			_, err := s.UpdateUser(ctx, models.UserActor(f.Admin, ""), 999999, models.UserInput{
				Email: "ghost@idc.test", Name: "Ghost", Role: models.RoleEngineer})
			if !errors.Is(err, models.ErrNotFound) {
				t.Fatalf("UpdateUser = %v, want ErrNotFound", err)
			}
		})

		t.Run("an admin cannot disable themselves", func(t *testing.T) {
			err := s.SetUserDisabled(ctx, models.UserActor(f.Admin, ""), f.Admin.ID, true)
			wantInvalid(t, err, "user", "error.cannot_disable_self")
			u, _ := s.GetUser(ctx, f.Admin.ID)
			if u.Disabled() {
				t.Fatal("admin disabled themselves")
			}
		})
	})
}

func TestCreateOrgValidation(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, _ *dbtest.Clock) {
		f := dbtest.Seed(t, s)
		ctx := context.Background()
		org := func(slug string) models.OrgInput { return models.OrgInput{Slug: slug, Name: "Charlie Hosting"} }
		with := func(in models.OrgInput, change func(*models.OrgInput)) models.OrgInput {
			change(&in)
			return in
		}
		refused := []struct {
			name       string
			in         models.OrgInput
			field, key string
		}{
			{"an empty slug is refused", org("  "), "slug", "error.required"},
			{"a slug starting with a hyphen is refused", org("-charlie"), "slug", "error.slug_invalid"},
			{"a slug ending with a hyphen is refused", org("charlie-"), "slug", "error.slug_invalid"},
			{"a slug with an underscore is refused", org("char_lie"), "slug", "error.slug_invalid"},
			{"a slug with a space is refused", org("char lie"), "slug", "error.slug_invalid"},
			{"a slug with a dot is refused", org("charlie.cn"), "slug", "error.slug_invalid"},
			{"a slug with a slash is refused", org("../charlie"), "slug", "error.slug_invalid"},
			{"a slug with an accent is refused", org("café"), "slug", "error.slug_invalid"},
			{"a slug in Chinese is refused", org("查理"), "slug", "error.slug_invalid"},
			{"a slug of 65 characters is refused", org(strings.Repeat("c", 65)), "slug", "error.slug_invalid"},
			{"a slug already taken is refused", org("alpha"), "slug", "error.slug_taken"},
			{"a slug taken in another case is refused", org(" BRAVO "), "slug", "error.slug_taken"},
			{"a blank name is refused", with(org("charlie"), func(in *models.OrgInput) { in.Name = " " }), "name", "error.required"},
			{"a name over 200 bytes is refused", with(org("charlie"), func(in *models.OrgInput) { in.Name = strings.Repeat("c", 201) }), "name", "error.too_long"},
			{"a contact address over 500 bytes is refused", with(org("charlie"), func(in *models.OrgInput) { in.ContactAddress = strings.Repeat("c", 501) }), "contact_address", "error.too_long"},
			{"an engineer as service rep is refused", with(org("charlie"), func(in *models.OrgInput) { in.ServiceRepUserID = &f.Engineer.ID }), "service_rep", "error.assignee_role"},
			{"a customer as service rep is refused", with(org("charlie"), func(in *models.OrgInput) { in.ServiceRepUserID = &f.CustA.ID }), "service_rep", "error.assignee_role"},
			{"an admin as service rep is refused", with(org("charlie"), func(in *models.OrgInput) { in.ServiceRepUserID = &f.Admin.ID }), "service_rep", "error.assignee_role"},
			{"an unknown user as service rep is refused", with(org("charlie"), func(in *models.OrgInput) { in.ServiceRepUserID = ptr(int64(999999)) }), "service_rep", "error.assignee_role"},
			{"a service rep as engineer is refused", with(org("charlie"), func(in *models.OrgInput) { in.EngineerUserID = &f.Service.ID }), "engineer", "error.assignee_role"},
		}
		for _, c := range refused {
			t.Run(c.name, func(t *testing.T) {
				audits := len(auditOf(t, s, models.AuditOrgCreated))
				o, err := s.CreateOrg(ctx, models.UserActor(f.Admin, ""), c.in)
				wantInvalid(t, err, c.field, c.key)
				if o != nil {
					t.Fatalf("returned an organization with the error: %+v", o)
				}
				if got := len(auditOf(t, s, models.AuditOrgCreated)); got != audits {
					t.Fatalf("creation events went from %d to %d", audits, got)
				}
			})
		}
		t.Run("none of the refused organizations was stored", func(t *testing.T) {
			orgs, err := s.ListOrgs(ctx, models.AllOrgs())
			if err != nil {
				t.Fatal(err)
			}
			if len(orgs) != 2 {
				t.Fatalf("%d organizations, want the 2 seeded", len(orgs))
			}
		})

		accepted := []struct {
			name string
			in   models.OrgInput
			slug string
		}{
			{"a one-character slug is accepted", org("c"), "c"},
			{"a slug with inner hyphens and digits is accepted", org("charlie-2-hk"), "charlie-2-hk"},
			{"a slug of 64 characters is accepted", org(strings.Repeat("d", 64)), strings.Repeat("d", 64)},
			{"a slug is stored trimmed and lowercased", org("  Echo-Games "), "echo-games"},
			{"a service rep and an engineer of the right roles are accepted", with(org("foxtrot"), func(in *models.OrgInput) {
				in.ServiceRepUserID, in.EngineerUserID = &f.Service.ID, &f.Engineer.ID
			}), "foxtrot"},
		}
		for _, c := range accepted {
			t.Run(c.name, func(t *testing.T) {
				o, err := s.CreateOrg(ctx, models.UserActor(f.Admin, ""), c.in)
				if err != nil {
					t.Fatal(err)
				}
				got, err := s.GetOrgBySlug(ctx, strings.ToUpper(c.slug))
				if err != nil || got.ID != o.ID || got.Slug != c.slug {
					t.Fatalf("stored %+v, %v; want slug %s", got, err, c.slug)
				}
			})
		}

		t.Run("renaming an organization to a taken slug is refused", func(t *testing.T) {
			_, err := s.UpdateOrg(ctx, models.UserActor(f.Admin, ""), f.OrgB.ID, models.OrgInput{Slug: "alpha", Name: "Bravo Games"})
			wantInvalid(t, err, "slug", "error.slug_taken")
			o, _ := s.GetOrg(ctx, models.AllOrgs(), f.OrgB.ID)
			if o.Slug != "bravo" {
				t.Fatalf("slug changed to %s", o.Slug)
			}
		})

		t.Run("updating an organization that does not exist is not found", func(t *testing.T) {
			_, err := s.UpdateOrg(ctx, models.UserActor(f.Admin, ""), 999999, models.OrgInput{Slug: "ghost", Name: "Ghost"})
			if !errors.Is(err, models.ErrNotFound) {
				t.Fatalf("UpdateOrg = %v, want ErrNotFound", err)
			}
		})

		t.Run("the home page of an organization names its service rep and engineer", func(t *testing.T) {
			h, err := s.GetOrgHome(ctx, models.AllOrgs(), f.OrgA.ID)
			if err != nil {
				t.Fatal(err)
			}
			if h.ServiceRep == nil || h.ServiceRep.ID != f.Service.ID || h.Engineer == nil || h.Engineer.ID != f.Engineer.ID {
				t.Fatalf("home %+v", h)
			}
			h, err = s.GetOrgHome(ctx, models.AllOrgs(), f.OrgB.ID)
			if err != nil || h.ServiceRep != nil || h.Engineer != nil {
				t.Fatalf("home of B = %+v, %v; want no assignees", h, err)
			}
		})
	})
}

func TestChangesAreAudited(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		f := dbtest.Seed(t, s)
		ctx := context.Background()
		admin := models.UserActor(f.Admin, "10.9.9.9")

		// last returns the newest event of action and checks who did it to what.
		last := func(t *testing.T, action string, actor *models.User, targetType string, target int64, org *int64) map[string]any {
			t.Helper()
			evs := auditOf(t, s, action)
			if len(evs) == 0 {
				t.Fatalf("no %s event", action)
			}
			ev := evs[0]
			if actor == nil {
				if ev.ActorID != nil || ev.ActorEmail == "" {
					t.Fatalf("%s actor %v %q, want a system actor", action, ev.ActorID, ev.ActorEmail)
				}
			} else if ev.ActorID == nil || *ev.ActorID != actor.ID || ev.ActorEmail != actor.Email || ev.IP != "10.9.9.9" {
				t.Fatalf("%s actor %v %q %q, want %d %s", action, ev.ActorID, ev.ActorEmail, ev.IP, actor.ID, actor.Email)
			}
			if ev.TargetType != targetType || ev.TargetID == nil || *ev.TargetID != target {
				t.Fatalf("%s target %s %v, want %s %d", action, ev.TargetType, ev.TargetID, targetType, target)
			}
			if (org == nil) != (ev.OrgID == nil) || org != nil && *org != *ev.OrgID {
				t.Fatalf("%s org %v, want %v", action, ev.OrgID, org)
			}
			if !ev.At.Equal(clock.Now()) {
				t.Fatalf("%s at %v, want %v", action, ev.At, clock.Now())
			}
			if ev.Detail == "" {
				return nil
			}
			return detailOf(t, ev)
		}

		t.Run("seeding audited every user and organization as the system", func(t *testing.T) {
			if n := len(auditOf(t, s, models.AuditUserCreated)); n != 6 {
				t.Fatalf("%d user creations, want 6", n)
			}
			if n := len(auditOf(t, s, models.AuditOrgCreated)); n != 2 {
				t.Fatalf("%d organization creations, want 2", n)
			}
			last(t, models.AuditUserCreated, nil, "user", f.CustB.ID, &f.OrgB.ID)
		})

		var gina *models.User
		// Step: Creating a user records who, which organization, the email and the role.
		func() {
			clock.Advance(1e9)
			var err error
			gina, err = s.CreateUser(ctx, admin, models.UserInput{Email: "gina@bravo.test", Name: "Gina Bravo", Role: models.RoleCustomer, OrgID: &f.OrgB.ID, Password: dbtest.Password})
			if err != nil {
				t.Fatal(err)
			}
			d := last(t, models.AuditUserCreated, f.Admin, "user", gina.ID, &f.OrgB.ID)
			if d["email"] != "gina@bravo.test" || d["role"] != "customer" {
				t.Fatalf("detail %v", d)
			}
			if _, ok := d["password"]; ok || strings.Contains(auditOf(t, s, models.AuditUserCreated)[0].Detail, dbtest.Password) {
				t.Fatal("the audit detail holds the password")
			}
		}()

		// Step: Updating a user records the values before and after.
		func() {
			clock.Advance(1e9)
			if _, err := s.UpdateUser(ctx, admin, gina.ID, models.UserInput{Email: "gina@bravo.test", Name: "Gina Renamed", Phone: "+86 21 1234", Role: models.RoleCustomer, OrgID: &f.OrgB.ID}); err != nil {
				t.Fatal(err)
			}
			d := last(t, models.AuditUserUpdated, f.Admin, "user", gina.ID, &f.OrgB.ID)
			before, _ := d["before"].(map[string]any)
			after, _ := d["after"].(map[string]any)
			if before["name"] != "Gina Bravo" || after["name"] != "Gina Renamed" || before["phone"] != "" || after["phone"] != "+86 21 1234" {
				t.Fatalf("detail %v", d)
			}
		}()

		// Step: Moving a user to another organization is audited under the new one.
		func() {
			clock.Advance(1e9)
			if _, err := s.UpdateUser(ctx, admin, gina.ID, models.UserInput{Email: "gina@bravo.test", Name: "Gina Renamed", Role: models.RoleCustomer, OrgID: &f.OrgA.ID}); err != nil {
				t.Fatal(err)
			}
			d := last(t, models.AuditUserUpdated, f.Admin, "user", gina.ID, &f.OrgA.ID)
			before, _ := d["before"].(map[string]any)
			after, _ := d["after"].(map[string]any)
			if before["org_id"] != float64(f.OrgB.ID) || after["org_id"] != float64(f.OrgA.ID) {
				t.Fatalf("detail %v", d)
			}
		}()

		// Step: Disabling and enabling a user are audited.
		func() {
			clock.Advance(1e9)
			if err := s.SetUserDisabled(ctx, admin, gina.ID, true); err != nil {
				t.Fatal(err)
			}
			if d := last(t, models.AuditUserDisabled, f.Admin, "user", gina.ID, &f.OrgA.ID); d["email"] != "gina@bravo.test" {
				t.Fatalf("detail %v", d)
			}
			if err := s.SetUserDisabled(ctx, admin, gina.ID, false); err != nil {
				t.Fatal(err)
			}
			last(t, models.AuditUserEnabled, f.Admin, "user", gina.ID, &f.OrgA.ID)
		}()

		// Step: A password set by someone else is a reset, by oneself a change.
		func() {
			clock.Advance(1e9)
			if err := s.SetPassword(ctx, admin, gina.ID, "a fresh reset secret", ""); err != nil {
				t.Fatal(err)
			}
			last(t, models.AuditPasswordReset, f.Admin, "user", gina.ID, &f.OrgA.ID)
			if err := s.SetPassword(ctx, models.UserActor(f.Admin, "10.9.9.9"), f.Admin.ID, "my own new secret phrase", ""); err != nil {
				t.Fatal(err)
			}
			last(t, models.AuditPasswordChanged, f.Admin, "user", f.Admin.ID, nil)
			if n := len(auditOf(t, s, models.AuditPasswordChanged)); n != 1 {
				t.Fatalf("%d password changes, want 1", n)
			}
		}()

		var hotel *models.Organization
		// Step: Creating an organization records who, the slug and the name.
		func() {
			clock.Advance(1e9)
			var err error
			hotel, err = s.CreateOrg(ctx, admin, models.OrgInput{Slug: "hotel", Name: "Hotel 酒店 Ltd", ServiceRepUserID: &f.Service.ID})
			if err != nil {
				t.Fatal(err)
			}
			d := last(t, models.AuditOrgCreated, f.Admin, "organization", hotel.ID, &hotel.ID)
			if d["slug"] != "hotel" || d["name"] != "Hotel 酒店 Ltd" {
				t.Fatalf("detail %v", d)
			}
		}()

		// Step: Updating an organization records the values before and after.
		func() {
			clock.Advance(1e9)
			if _, err := s.UpdateOrg(ctx, admin, hotel.ID, models.OrgInput{Slug: "hotel-cn", Name: "Hotel 酒店 Ltd", ContactAddress: "北京市朝阳区", EngineerUserID: &f.Engineer.ID}); err != nil {
				t.Fatal(err)
			}
			d := last(t, models.AuditOrgUpdated, f.Admin, "organization", hotel.ID, &hotel.ID)
			before, _ := d["before"].(map[string]any)
			after, _ := d["after"].(map[string]any)
			if before["slug"] != "hotel" || after["slug"] != "hotel-cn" || after["contact_address"] != "北京市朝阳区" ||
				before["service_rep_user_id"] != float64(f.Service.ID) || after["service_rep_user_id"] != nil ||
				before["engineer_user_id"] != nil || after["engineer_user_id"] != float64(f.Engineer.ID) {
				t.Fatalf("detail %v", d)
			}
			o, err := s.GetOrg(ctx, models.AllOrgs(), hotel.ID)
			if err != nil || o.Slug != "hotel-cn" || o.ServiceRepUserID != nil || o.EngineerUserID == nil || *o.EngineerUserID != f.Engineer.ID {
				t.Fatalf("stored %+v, %v", o, err)
			}
		}()

		// Step: The audit list filters by actor and organization.
		func() {
			byAdmin, err := s.ListAudit(ctx, models.AllOrgs(), models.AuditFilter{ActorID: f.Admin.ID, Limit: 500})
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range byAdmin {
				if ev.ActorID == nil || *ev.ActorID != f.Admin.ID {
					t.Fatalf("event %+v is not the admin's", ev)
				}
			}
			// Created, renamed, moved, disabled, enabled, reset, changed; organization created, updated.
			if len(byAdmin) != 9 {
				t.Fatalf("%d events by the admin, want 9", len(byAdmin))
			}
			ofB, err := s.ListAudit(ctx, models.AllOrgs(), models.AuditFilter{OrgID: f.OrgB.ID, Limit: 500})
			if err != nil {
				t.Fatal(err)
			}
			for i, ev := range ofB {
				if ev.OrgID == nil || *ev.OrgID != f.OrgB.ID {
					t.Fatalf("event %+v is not of organization B", ev)
				}
				if i > 0 && ev.ID >= ofB[i-1].ID {
					t.Fatal("events are not newest first")
				}
			}
			// Bravo and Bob seeded, Gina created and renamed there; her move is A's.
			if len(ofB) != 4 {
				t.Fatalf("%d events of organization B, want 4", len(ofB))
			}
		}()
	})
}
