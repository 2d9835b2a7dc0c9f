package main

import (
	"errors"
	"net/mail"
	"os"
	"strings"

	"github.com/colo-portal/portal/models"
)

// providerSettings name the data center on documents and in the
// instructions for returning a signed form (PORTAL_PROVIDER_*).
func providerSettings() []setting {
	phone := func(field string, set func(p *models.Provider, v string)) func(*Config, string) error {
		return func(c *Config, v string) error {
			n, err := models.NormalizePhone(field, v)
			if err != nil {
				return errors.New("want a phone number, +86 10 5555 0100 or a Chinese number without country code")
			}
			set(&c.Provider, n)
			return nil
		}
	}
	return []setting{
		{name: "PORTAL_PROVIDER_NAME", help: "the data center's company name, printed on every document and in the return instructions",
			set: func(c *Config, v string) error {
				if err := models.CheckLine("name", v, 200); err != nil {
					return errors.New("want one line of at most 200 characters")
				}
				c.Provider.Name = v
				return nil
			}},
		{name: "PORTAL_PROVIDER_ADDRESS", help: `postal address for signed forms; "\n" separates lines`,
			set: func(c *Config, v string) error {
				var lines []string
				for _, l := range strings.Split(strings.ReplaceAll(v, `\n`, "\n"), "\n") {
					if l = strings.TrimSpace(l); l != "" {
						lines = append(lines, l)
					}
				}
				if len(lines) > 6 || len(v) > 600 {
					return errors.New("want at most 6 lines and 600 characters")
				}
				c.Provider.Address = strings.Join(lines, "\n")
				return nil
			}},
		{name: "PORTAL_PROVIDER_PHONE", help: "the provider's phone number", set: phone("phone", func(p *models.Provider, v string) { p.Phone = v })},
		{name: "PORTAL_PROVIDER_FAX", help: "fax number signed forms may be sent to", set: phone("fax", func(p *models.Provider, v string) { p.Fax = v })},
		{name: "PORTAL_PROVIDER_EMAIL", help: "email address signed forms may be sent to", set: func(c *Config, v string) error {
			if v == "" {
				return nil
			}
			a, err := mail.ParseAddress(v)
			if err != nil || a.Name != "" {
				return errors.New("want an address like noc@idc.example")
			}
			c.Provider.Email = a.Address
			return nil
		}},
		{name: "PORTAL_PROVIDER_LOGO", help: "PNG or JPEG file printed on the letterhead, at most 1 MB",
			set: func(c *Config, v string) error {
				if v == "" {
					return nil
				}
				data, err := os.ReadFile(v)
				if err != nil {
					return errors.New("cannot read the file")
				}
				kind, err := models.CheckLogo(data)
				if err != nil {
					return err
				}
				c.Provider.Logo, c.Provider.LogoType = data, kind
				return nil
			}},
	}
}
