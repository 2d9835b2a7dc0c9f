package main

import (
	"strings"
	"testing"
)

func TestDocumentSettings(t *testing.T) {
	t.Run("the folder is the default", func(t *testing.T) {
		c, err := loadConfig(env(map[string]string{}))
		if err != nil {
			t.Fatal(err)
		}
		if c.Documents != "folder" {
			t.Fatalf("Documents = %q, want folder", c.Documents)
		}
	})
	t.Run("s3 takes its keys from files and keeps the endpoint's scheme", func(t *testing.T) {
		c, err := loadConfig(env(map[string]string{"PORTAL_DOCUMENTS": "S3", "PORTAL_S3_ENDPOINT": "https://s3.idc.example:8333/",
			"PORTAL_S3_BUCKET": "portal", "PORTAL_S3_PREFIX": "prod", "PORTAL_S3_ACCESS_KEY_FILE": secretFile(t, "AKIDEXAMPLE\n"),
			"PORTAL_S3_SECRET_KEY_FILE": secretFile(t, "wJalrXUtnFEMI/K7MDENG\n")}))
		if err != nil {
			t.Fatal(err)
		}
		if c.Documents != "s3" || c.S3.Endpoint != "https://s3.idc.example:8333" || c.S3.Prefix != "prod/" ||
			c.S3.AccessKey != "AKIDEXAMPLE" || c.S3.SecretKey != "wJalrXUtnFEMI/K7MDENG" || c.S3.Region != "us-east-1" {
			t.Fatalf("S3 config = %+v (documents %q)", c.S3, c.Documents)
		}
	})
	t.Run("s3 without its server, bucket or keys is refused, and no key is shown", func(t *testing.T) {
		_, err := loadConfig(env(map[string]string{"PORTAL_DOCUMENTS": "s3", "PORTAL_S3_SECRET_KEY": "very-secret-value"}))
		if err == nil {
			t.Fatal("accepted")
		}
		msg := err.Error()
		for _, want := range []string{"needs PORTAL_S3_ENDPOINT and PORTAL_S3_BUCKET", "needs PORTAL_S3_ACCESS_KEY"} {
			if !strings.Contains(msg, want) {
				t.Errorf("error %q does not say %q", msg, want)
			}
		}
		if strings.Contains(msg, "very-secret-value") {
			t.Errorf("error shows the secret key: %s", msg)
		}
	})
	t.Run("a bad endpoint is refused", func(t *testing.T) {
		_, err := loadConfig(env(map[string]string{"PORTAL_S3_ENDPOINT": "s3.idc.example:8333"}))
		if err == nil || !strings.Contains(err.Error(), "PORTAL_S3_ENDPOINT") {
			t.Fatalf("got %v", err)
		}
	})
}
