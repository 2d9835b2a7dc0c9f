package handlers_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/colo-portal/portal/models"
)

// The paged fleet on a phone and a desktop: the search form narrows it,
// the pager reaches the second page, and the table turns into cards that
// fit 390 px. PORTAL_SCREENSHOT_DIR keeps the pictures.
func TestBrowserFleetSearchesAndPages(t *testing.T) {
	base, fx, store := startPortalRefreshing(t)
	ctx := context.Background()
	for i := range 105 {
		if _, err := store.CreateDevice(ctx, models.SystemActor("test"), models.DeviceInput{OrgID: fx.OrgB.ID,
			Name: fmt.Sprintf("game-%03d", i), Address: fmt.Sprintf("10.0.0.%d", i+1), Cabinet: "B07", Position: fmt.Sprintf("U%d", i%42+1)}); err != nil {
			t.Fatal(err)
		}
	}
	bctx := newBrowser(t)
	signInInBrowser(t, bctx, base, fx.Engineer.Email)
	if err := chromedp.Do(bctx, chromedp.Navigate(base+"/fleet"), chromedp.WaitVisible(chromedp.CSS("table.fleet"))); err != nil {
		t.Fatal(err)
	}
	rows := func() int {
		n, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll('table.fleet tbody tr').length`))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := rows(); n != models.FleetPageSize {
		t.Errorf("first page: %d rows, want %d", n, models.FleetPageSize)
	}
	shotsAtBothWidths(t, bctx, "fleet")
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(390, 844),
		chromedp.Click(chromedp.CSS(`a[rel="next"]`)), chromedp.WaitVisible(chromedp.CSS(`a[rel="prev"]`))); err != nil {
		t.Fatal(err)
	}
	if n := rows(); n != 5 {
		t.Errorf("second page: %d rows, want 5", n)
	}
	wide, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > 390`))
	if err != nil || wide {
		t.Errorf("the fleet is wider than a phone (%v)", err)
	}
	shot(t, bctx, "fleet-page2-390")
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(1366, 900),
		chromedp.SendKeys(chromedp.CSS("#f-q"), "game-10"),
		chromedp.Click(chromedp.CSS(`form[role="search"] button[type=submit]`))); err != nil {
		t.Fatal(err)
	}
	// The old page's table satisfies a wait for the table: wait for the
	// search's page to have loaded first.
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		loaded, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`location.search.includes("q=game-10") && document.readyState === "complete"`))
		if err == nil && loaded {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the search's page did not load (%v)", err)
		}
	}
	if err := chromedp.Do(bctx, chromedp.WaitVisible(chromedp.CSS(`table.fleet`))); err != nil {
		t.Fatal(err)
	}
	wantIn(t, bctx, "table.fleet", "game-100", "game-104")
	if n := rows(); n != 5 {
		t.Errorf("search game-10: %d rows, want 5", n)
	}
	shot(t, bctx, "fleet-search-1366")
}
