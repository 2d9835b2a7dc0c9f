package main

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestProviderSettings(t *testing.T) {
	dir := t.TempDir()
	var logo bytes.Buffer
	if err := png.Encode(&logo, image.NewGray(image.Rect(0, 0, 60, 20))); err != nil {
		t.Fatal(err)
	}
	logoPath := filepath.Join(dir, "logo.png")
	if err := os.WriteFile(logoPath, logo.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	notImage := filepath.Join(dir, "logo.svg")
	if err := os.WriteFile(notImage, []byte("<svg/>"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := loadConfig(env(map[string]string{
		"PORTAL_PROVIDER_NAME": "North China Cloud IDC", "PORTAL_PROVIDER_ADDRESS": `10 Jiuxianqiao Road\n Beijing 100015 `,
		"PORTAL_PROVIDER_PHONE": "010 5555 0100", "PORTAL_PROVIDER_FAX": "+86 10 5555 0199", "PORTAL_PROVIDER_EMAIL": "noc@idc.example",
		"PORTAL_PROVIDER_LOGO": logoPath,
	}))
	if err != nil {
		t.Fatal(err)
	}
	p := c.Provider
	if p.Name != "North China Cloud IDC" || p.Address != "10 Jiuxianqiao Road\nBeijing 100015" || p.Phone != "+861055550100" ||
		p.Fax != "+861055550199" || p.Email != "noc@idc.example" || p.LogoType != "image/png" || !bytes.Equal(p.Logo, logo.Bytes()) {
		t.Errorf("provider = %+v", p)
	}
	_, err = loadConfig(env(map[string]string{"PORTAL_PROVIDER_PHONE": "12", "PORTAL_PROVIDER_EMAIL": "NOC <noc@idc.example>",
		"PORTAL_PROVIDER_LOGO": notImage, "PORTAL_PROVIDER_NAME": "two\nlines"}))
	for _, want := range []string{"PORTAL_PROVIDER_PHONE", "PORTAL_PROVIDER_EMAIL", "want a PNG or JPEG image", "PORTAL_PROVIDER_NAME"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
}
