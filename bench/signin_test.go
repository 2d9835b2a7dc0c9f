package bench

import (
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/colo-portal/portal/handlers"
	"github.com/colo-portal/portal/models"
)

// TestBenchSignInTiny runs `portal bench signin` against the app served on
// a loopback port in this process: a small guess burst and a small burst of
// anonymous sign-ins, each from its own forwarded address.
func TestBenchSignInTiny(t *testing.T) {
	ctx := t.Context()
	store, _, err := openBenchStore(ctx, "sqlite:"+filepath.Join(t.TempDir(), "signin.db"), nil, models.WithHasher(benchHasher))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	org, err := store.CreateOrg(ctx, models.SystemActor("test"), models.OrgInput{Slug: "acme", Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	const email, password = "victim@acme.example", "a long and unguessed pass phrase"
	if _, err := store.CreateUser(ctx, models.SystemActor("test"), models.UserInput{Email: email, Name: "Victim",
		Role: models.RoleCustomer, OrgID: &org.ID, Password: password}); err != nil {
		t.Fatal(err)
	}
	app := handlers.New(handlers.Deps{Store: store, Logger: slog.New(slog.DiscardHandler), Secret: make([]byte, 32),
		Sessions: models.DefaultSessionPolicy, SignIn: models.DefaultSignInLimits, TrustedProxies: []string{"127.0.0.1"}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	defer app.Shutdown()

	out, got := benchJSON(t, func(w io.Writer) error {
		return SignIn(ctx, SignInOptions{URL: "http://" + ln.Addr().String(), Email: email, Password: password,
			Guesses: 9, Anonymous: 12, Spread: true, PID: os.Getpid()}, w)
	})
	limit := float64(models.DefaultSignInLimits.PerAccount)
	if n := number(t, got, "guess_requests"); n != 10 {
		t.Errorf("guess_requests = %v, want 10\n%s", n, out)
	}
	wrong, in := number(t, got, "guess_wrong"), number(t, got, "guess_signed_in")
	// The right password's reservation stops counting as a failure once it
	// succeeds, so one more wrong guess may take its place: at most the
	// limit's wrong passwords are evaluated, whatever the order.
	if wrong > limit || wrong+in+number(t, got, "guess_limited") != 10 {
		t.Errorf("guess burst: %v wrong, %v signed in, %v limited; want at most %v wrong evaluated and the rest limited\n%s",
			wrong, in, number(t, got, "guess_limited"), limit, out)
	}
	if right := got["guess_right"]; (right == "signed_in") != (in == 1) || right == "other" {
		t.Errorf("guess_right = %v with %v signed in\n%s", right, in, out)
	}
	// Unknown emails from distinct addresses: no limit applies, so each
	// is evaluated, or refused as busy should the hashing slots stay full.
	if n := number(t, got, "anonymous_wrong") + number(t, got, "anonymous_busy"); n != 12 {
		t.Errorf("anonymous: %v wrong or busy, want all 12\n%s", n, out)
	}
	for _, k := range []string{"guess_other", "anonymous_other", "anonymous_limited", "anonymous_signed_in"} {
		if n := number(t, got, k); n != 0 {
			t.Errorf("%s = %v, want 0\n%s", k, n, out)
		}
	}
	if v := number(t, got, "anonymous_peak_rss_mib"); v <= 1 {
		t.Errorf("anonymous_peak_rss_mib = %v, want this process's memory\n%s", v, out)
	}
	number(t, got, "anonymous_rise_mib")
}
