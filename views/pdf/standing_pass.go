package pdf

// standingKeys are the visitor pass's labels a standing-access pass says
// its own way: the layout is the visitor pass's (one A6 page).
var standingKeys = map[string]string{
	"pass.title":        "standing.pass_title",
	"pass.visit_number": "standing.pass_number",
	"pass.window":       "standing.pass_window",
	"pass.escort":       "standing.pass_escort",
	"pass.instructions": "standing.pass_instructions",
	"pass.visitor_n":    "standing.pass_page",
}

// StandingPass renders the personal pass of a person of a standing access
// list: the visitor pass's page, with VisitNumber the pass's number,
// Window the days it is good for, Escort whether staff must escort, and
// the token of the standing kind in the QR code.
func StandingPass(lh Letterhead, p PassPage) ([]byte, error) {
	t := p.T
	p.T = func(key string, args ...any) string {
		if k, ok := standingKeys[key]; ok {
			key = k
		}
		return t(key, args...)
	}
	return VisitorPass(lh, []PassPage{p})
}
