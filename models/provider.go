package models

import (
	"errors"
	"net/http"
	"strings"

	"github.com/colo-portal/portal/models/imagecheck"

	"github.com/nyaruka/phonenumbers"
)

// Provider is who runs the data center: printed on the letterhead of every
// document and named wherever a customer is told to return a signed form.
// It comes from the PORTAL_PROVIDER_* settings; any field may be empty.
type Provider struct {
	Name    string
	Address string // may span lines
	Phone   string // E.164
	Fax     string // E.164
	Email   string
	// Logo is a checked PNG or JPEG, LogoType its "image/png" or
	// "image/jpeg"; nil for none.
	Logo     []byte
	LogoType string
}

// Returnable reports whether the provider can be reached other than
// through the portal: by email, fax or post.
func (p Provider) Returnable() bool {
	return p.Email != "" || p.Fax != "" || p.Address != ""
}

// FormatPhone writes a stored phone number (E.164) grouped in the
// international format, "+86 138 0013 8000"; a number it cannot read is
// returned as it is.
func FormatPhone(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	n, err := phonenumbers.Parse(s, DefaultPhoneRegion)
	if err != nil {
		return s
	}
	return phonenumbers.Format(n, phonenumbers.INTERNATIONAL)
}

// maxLogo bounds the letterhead logo file.
const maxLogo = 1 << 20

// CheckLogo checks a letterhead logo: a PNG or JPEG of at most 1 MB and
// 4000 pixels a side that decodes intact. It returns its content type.
func CheckLogo(data []byte) (string, error) {
	if len(data) > maxLogo {
		return "", errors.New("want at most 1 MB")
	}
	lim := imagecheck.Limits{MaxSide: 4000, MaxPixels: 4000 * 4000}
	var err error
	kind := http.DetectContentType(data)
	switch kind {
	case "image/png":
		_, _, err = imagecheck.PNG(data, lim)
	case "image/jpeg":
		_, _, err = imagecheck.JPEG(data, lim)
	default:
		return "", errors.New("want a PNG or JPEG image")
	}
	if err != nil {
		return "", errors.New("want an intact PNG or JPEG image of at most 4000 pixels a side")
	}
	return kind, nil
}
