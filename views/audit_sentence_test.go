package views

import (
	"testing"

	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
)

// TestEveryAuditActionReadsAsASentence: an action the audit log records
// has a sentence in both languages (docs/audit.md), unless its name alone
// says everything its detail holds; a new action must take one side.
func TestEveryAuditActionReadsAsASentence(t *testing.T) {
	nameSaysAll := map[string]bool{
		models.AuditSignIn: true, models.AuditSignInFailed: true, models.AuditSignInLimited: true,
		models.AuditSignOut: true, models.AuditTOTPFailed: true, models.AuditTOTPEnabled: true,
		models.AuditTOTPDisabled: true, models.AuditPasswordChanged: true, models.AuditPasswordChangeFailed: true,
		models.AuditNotifySettings: true, models.AuditPhoneRefused: true,
	}
	for _, lang := range []string{"en", "zh-CN"} {
		tr := locales.For(lang)
		for _, a := range models.AuditActions {
			if !tr.Has("audit.action." + a) {
				t.Errorf("%s: action %s has no name", lang, a)
			}
			if !nameSaysAll[a] && !tr.Has("audit.say."+a) {
				t.Errorf("%s: action %s has no sentence (audit.say.%s)", lang, a, a)
			}
		}
	}
}
