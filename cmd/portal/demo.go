package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/colo-portal/portal/models"
)

type demoUser struct {
	email, name, phone, password string
	role                         models.Role
	org                          string
}

var demoStaff = []demoUser{
	{"admin@idc.example", "Chen Jing 陈静", "+86 10 8888 0001", "demo-Chen-2026", models.RoleAdmin, ""},
	{"reception@idc.example", "Zhao Min 赵敏", "+86 10 8888 0002", "demo-Zhao-2026", models.RoleReception, ""},
	{"engineer@idc.example", "Li Wei 李伟", "+86 138 0013 8000", "demo-LiWei-2026", models.RoleEngineer, ""},
	{"service@idc.example", "Wang Fang 王芳", "+86 10 8888 0004", "demo-Wang-2026", models.RoleService, ""},
}

var demoOrgs = []models.OrgInput{
	{Slug: "aurora", Name: "Aurora Cloud 极光云计算", ContactAddress: "北京市海淀区中关村大街 1 号 / 1 Zhongguancun Ave, Haidian, Beijing"},
	{Slug: "bravo", Name: "Bravo Games 博锐游戏", ContactAddress: "上海市浦东新区张江路 88 号 / 88 Zhangjiang Rd, Pudong, Shanghai"},
}

var demoCustomers = []demoUser{
	{"ops@aurora.example", "Sun Li 孙丽", "+86 139 1000 2000", "demo-Aurora-2026", models.RoleCustomer, "aurora"},
	{"cto@aurora.example", "Zhou Tao 周涛", "+86 139 1000 2001", "demo-Zhou-2026", models.RoleCustomer, "aurora"},
	{"it@bravo.example", "Ma Jun 马骏", "+86 137 2000 3000", "demo-Bravo-2026", models.RoleCustomer, "bravo"},
}

// loadDemo fills the database with a small, realistic data set. Running it
// again changes nothing that is already there.
func loadDemo(ctx context.Context, store *models.Store, out io.Writer) error {
	sys := models.SystemActor("demo")
	ensureUser := func(d demoUser, org *int64) (*models.User, error) {
		if u, err := store.GetUserByEmail(ctx, d.email); err == nil {
			return u, nil
		} else if !errors.Is(err, models.ErrNotFound) {
			return nil, err
		}
		return store.CreateUser(ctx, sys, models.UserInput{Email: d.email, Name: d.name, Phone: d.phone,
			Role: d.role, OrgID: org, Password: d.password})
	}
	ids := map[models.Role]int64{}
	for _, d := range demoStaff {
		u, err := ensureUser(d, nil)
		if err != nil {
			return fmt.Errorf("demo user %s: %w", d.email, err)
		}
		ids[d.role] = u.ID
	}
	orgIDs := map[string]int64{}
	for _, in := range demoOrgs {
		o, err := store.GetOrgBySlug(ctx, in.Slug)
		if errors.Is(err, models.ErrNotFound) {
			rep, eng := ids[models.RoleService], ids[models.RoleEngineer]
			in.ServiceRepUserID, in.EngineerUserID = &rep, &eng
			o, err = store.CreateOrg(ctx, sys, in)
		}
		if err != nil {
			return fmt.Errorf("demo organization %s: %w", in.Slug, err)
		}
		orgIDs[o.Slug] = o.ID
	}
	for _, d := range demoCustomers {
		id := orgIDs[d.org]
		if _, err := ensureUser(d, &id); err != nil {
			return fmt.Errorf("demo user %s: %w", d.email, err)
		}
	}
	fmt.Fprintln(out, "Demo data loaded. Sign in with:")
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  ROLE\tEMAIL\tPASSWORD\tORGANIZATION")
	for _, d := range append(append([]demoUser{}, demoStaff...), demoCustomers...) {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", d.role, d.email, d.password, d.org)
	}
	return tw.Flush()
}
