package handlers

import (
	"sort"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/models"
)

// accessKind says who may reach a route.
type accessKind int

const (
	accessPublic  accessKind = iota // anyone, signed in or not
	accessPending                   // between password and second factor
	accessSession                   // any session, complete or pending
	accessRoles                     // a complete session of one of Roles
	accessAPI                       // an API token of a user of one of Roles (api.go)
)

// Access is the policy of one route.
type Access struct {
	kind  accessKind
	Roles []models.Role
	// Enroll lets a user whose second factor is required but not set up
	// reach the route; every other route sends them to enroll first.
	Enroll bool
	// Renew lets a user who must change a password an admin gave them
	// reach the route; every other route sends them to change it first.
	Renew bool
	// Write: an API route that needs a token with the write scope.
	Write bool
	// bare: a public route that never looks at the session (health
	// checks, assets), so that it costs no session lookup.
	bare bool
}

var (
	public   = Access{kind: accessPublic}
	bare     = Access{kind: accessPublic, bare: true}
	pending  = Access{kind: accessPending}
	session  = Access{kind: accessSession}
	everyone = roles(models.Roles...)
	customer = roles(models.RoleCustomer)
	staff    = roles(models.RoleReception, models.RoleEngineer, models.RoleService, models.RoleAdmin)
	admin    = roles(models.RoleAdmin)
	// engineers manage devices and checks and classify outages.
	engineers = roles(models.RoleEngineer, models.RoleAdmin)
	// responders handle failed notifications.
	responders = roles(models.RoleEngineer, models.RoleService, models.RoleAdmin)
	// callers log the phone calls of call tasks: every staff role, the
	// reception desk included (it makes the calls when nobody else can).
	callers = roles(models.RoleReception, models.RoleEngineer, models.RoleService, models.RoleAdmin)
	// uploaders file a signed authorization form: the customer who
	// signed it, or an engineer who received it by fax or post.
	uploaders = roles(models.RoleCustomer, models.RoleEngineer, models.RoleAdmin)
	// monthClosers close a month's notice deductions (customer service,
	// who bill, and admins).
	monthClosers = roles(models.RoleService, models.RoleAdmin)
	// correspondents write on an operation request: the customer and the
	// staff who answer them (reception only reads).
	correspondents = roles(models.RoleCustomer, models.RoleEngineer, models.RoleService, models.RoleAdmin)
	// desk runs the reception desk: decides on visit requests, checks
	// visitors in and out, keeps the badges (admins stand in for
	// reception, with visitors' personal data masked).
	desk = roles(models.RoleReception, models.RoleAdmin)
	// visitLogReaders export the visitor log with visitors' full ID
	// numbers and phones: reception alone (clause 9's personal data are
	// shown masked to everyone else, admins included).
	visitLogReaders = roles(models.RoleReception)
	// standingReaders read standing access lists and access histories:
	// customers (their organization's) and the desk (everyone's).
	standingReaders = roles(models.RoleCustomer, models.RoleReception, models.RoleAdmin)
	// shipmentDesk keeps the parcels: reception, engineers (who take
	// equipment to cabinets and hand it over) and admins.
	shipmentDesk = roles(models.RoleReception, models.RoleEngineer, models.RoleAdmin)
	// calendarUsers may subscribe to a calendar feed of visits: customers
	// (their organization's) and reception (everyone's).
	calendarUsers = roles(models.RoleCustomer, models.RoleReception)
	// complaintDesk answers written complaints: the service desk and
	// admins (engineers and reception only read them).
	complaintDesk = roles(models.RoleService, models.RoleAdmin)
	// complainants write on a complaint and attach files: the complaining
	// organization's users and the desk.
	complainants = roles(models.RoleCustomer, models.RoleService, models.RoleAdmin)
	// contractDesk records and changes contracts: the service desk and
	// admins.
	contractDesk = roles(models.RoleService, models.RoleAdmin)
	// installers record an installation done: the desk, engineers, admins.
	installers = roles(models.RoleService, models.RoleEngineer, models.RoleAdmin)
)

func roles(rs ...models.Role) Access { return Access{kind: accessRoles, Roles: rs} }

// apiRead is an API route for a token of one of rs (any token scope);
// apiWrite one that needs the write scope.
func apiRead(rs ...models.Role) Access  { return Access{kind: accessAPI, Roles: rs} }
func apiWrite(rs ...models.Role) Access { return Access{kind: accessAPI, Roles: rs, Write: true} }

func (a Access) enroll() Access { a.Enroll = true; return a }

func (a Access) renew() Access { a.Renew = true; return a }

// String is how `portal routes` shows the policy.
func (a Access) String() string {
	switch a.kind {
	case accessPublic:
		return "public"
	case accessPending:
		return "second-factor-pending"
	case accessSession:
		return "any-session"
	}
	names := make([]string, len(a.Roles))
	for i, r := range a.Roles {
		names[i] = string(r)
	}
	if a.kind == accessAPI {
		scope := models.ScopeRead
		if a.Write {
			scope = models.ScopeWrite
		}
		return "token:" + scope + ":" + strings.Join(names, ",")
	}
	return strings.Join(names, ",")
}

// Allows reports whether a user of role may use a route of this policy.
func (a Access) Allows(role models.Role) bool {
	for _, r := range a.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// Route is one entry of the route table.
type Route struct {
	Method  string
	Path    string
	Access  Access
	Handler fiber.Handler
}

// routes is every route of the portal with who may use it. A route that
// is not here does not exist: New registers exactly this list, and a test
// fails for any route of the app without an entry.
func (h *Handler) routes() []Route {
	rs := []Route{
		{"GET", "/healthz", bare, h.health},
		{"GET", "/readyz", bare, h.readiness},
		// Prometheus's scrape target, behind Deps.MetricsToken (404 without).
		{"GET", metricsPath, bare, h.serveMetrics},
		{"GET", "/assets/:name", bare, h.serveAsset},
		{"POST", "/lang", public, h.setLanguage},

		{"GET", "/login", public, h.showLogin},
		{"POST", "/login", public, h.signIn},
		{"GET", "/login/totp", pending, h.showSecondFactor},
		{"POST", "/login/totp", pending, h.verifySecondFactor},
		{"GET", "/login/sso", public, h.startSSO},
		{"GET", "/login/sso/callback", public, h.finishSSO},
		{"POST", "/logout", session, h.signOut},

		{"GET", "/", everyone, h.showHome},
		{"GET", "/account", everyone, h.showAccount},
		{"GET", "/account/password", everyone.enroll().renew(), h.showPasswordChange},
		{"POST", "/account/password", everyone.enroll().renew(), h.changePassword},
		{"POST", "/account/sessions/end-others", everyone, h.endOtherSessions},
		{"POST", "/account/recovery-codes", everyone, h.regenerateRecoveryCodes},
		{"GET", "/account/totp", everyone.enroll(), h.showTOTPSetup},
		{"POST", "/account/totp/begin", everyone.enroll(), h.beginTOTP},
		{"POST", "/account/totp/confirm", everyone.enroll(), h.confirmTOTP},
		{"POST", "/account/totp/disable", everyone, h.disableTOTP},

		// Personal access tokens of the JSON API: every user makes, lists and
		// revokes their own (a new token is shown once, on the answer page
		// of its POST); admins see every live token and revoke any.
		{"GET", "/account/tokens", everyone, h.showTokens},
		{"POST", "/account/tokens", everyone, h.createToken},
		{"POST", "/account/tokens/:id/revoke", everyone, h.revokeToken},
		{"GET", "/admin/tokens", admin, h.showAdminTokens},
		{"POST", "/admin/tokens/:id/revoke", admin, h.revokeAdminToken},

		// Authorized contacts: each customer manages their own organization's
		// (another organization's contact is not found). The fixed paths come
		// before /contacts/:id so that they are not read as an ID.
		{"GET", "/contacts", customer, h.showContacts},
		{"GET", "/contacts/new", customer, h.newContact},
		{"POST", "/contacts", customer, h.createContact},
		{"GET", "/contacts/history", customer, h.showContactHistory},
		{"POST", "/contacts/confirm", customer, h.confirmContacts},
		{"GET", "/contacts/notifications", customer, h.showNotifySettings},
		{"POST", "/contacts/notifications", customer, h.saveNotifySettings},
		{"GET", "/contacts/:id/edit", customer, h.editContact},
		{"POST", "/contacts/:id", customer, h.updateContact},
		{"POST", "/contacts/:id/delete", customer, h.deleteContact},

		// The team: every customer sees their colleagues; the organization's
		// administrator (checked by the handlers) invites and disables them
		// and sees their sign-ins. Another organization's user is not found.
		{"GET", "/team", customer, h.showTeam},
		{"POST", "/team/invite", customer, h.inviteUser},
		{"GET", "/team/:id", customer, h.showTeamMember},
		{"POST", "/team/:id/disable", customer, h.disableTeamMember},
		{"POST", "/team/:id/enable", customer, h.enableTeamMember},
		// Customer webhooks: every user of an organization reads its
		// endpoints and delivery logs; its administrator (checked by the
		// handlers, after the endpoint is found: another organization's is
		// 404) adds, changes, deletes, rotates the secret of, re-enables and
		// tests them, and redelivers. /webhooks/new before /webhooks/:ref.
		{"GET", "/webhooks", customer, h.showWebhooks},
		{"GET", "/webhooks/new", customer, h.newWebhook},
		{"POST", "/webhooks", customer, h.createWebhook},
		{"GET", "/webhooks/:ref", customer, h.showWebhook},
		{"POST", "/webhooks/:ref", customer, h.updateWebhook},
		{"POST", "/webhooks/:ref/delete", customer, h.deleteWebhook},
		{"POST", "/webhooks/:ref/rotate", customer, h.rotateWebhook},
		{"POST", "/webhooks/:ref/enable", customer, h.enableWebhook},
		{"POST", "/webhooks/:ref/disable", customer, h.disableWebhook},
		{"POST", "/webhooks/:ref/test", customer, h.testWebhook},
		{"GET", "/webhooks/:ref/deliveries/:id", customer, h.showWebhookDelivery},
		{"POST", "/webhooks/:ref/deliveries/:id/redeliver", customer, h.redeliverWebhook},
		// An invitation's one-time link: the token is the credential.
		{"GET", "/invite/:token", public, h.showInvitation},
		{"POST", "/invite/:token", public, h.acceptInvitation},

		{"GET", "/orgs", staff, h.showOrgs},
		{"GET", "/orgs/:id", staff, h.showOrg},
		{"POST", "/orgs/:id/ask-contacts", staff, h.askForContacts},
		{"POST", "/orgs/:id/months/close", monthClosers, h.closeMonth},
		// Monthly statements (the SLA ledger): a customer reads its own
		// organization's (another's is not found), staff every one and the
		// provider's view of a month; customer service and admins close a
		// month, which freezes its statements.
		{"GET", "/statements", everyone, h.showStatements},
		{"GET", "/statements.csv", staff, h.downloadLedger},
		{"GET", "/statements/:org/:month", everyone, h.showStatement},
		{"GET", "/statements/:org/:month/statement.pdf", everyone, h.downloadStatementPDF},
		{"POST", "/statements/:org/:month/close", monthClosers, h.closeStatement},
		// Provider-wide incidents: every staff role sees them; engineers
		// name, classify and resolve; responders post updates to customers.
		{"GET", "/incidents", staff, h.showIncidents},
		{"GET", "/incidents/:id", staff, h.showIncident},
		{"POST", "/incidents/:id/title", engineers, h.renameIncident},
		{"POST", "/incidents/:id/cause", engineers, h.setIncidentCause},
		{"POST", "/incidents/:id/updates", responders, h.postIncidentUpdate},
		{"POST", "/incidents/:id/resolve", engineers, h.resolveIncident},
		// Power incidents (agreement §2): engineers record, end and
		// correct them; staff read every one; a customer reads those
		// touching its organization (only its own part), another's is
		// not found.
		{"GET", "/power", everyone, h.showPowerIncidents},
		{"GET", "/power/new", engineers, h.newPowerIncident},
		{"POST", "/power", engineers, h.createPowerIncident},
		{"GET", "/power/:ref", everyone, h.showPowerIncident},
		{"GET", "/power/:ref/edit", engineers, h.editPowerIncident},
		{"POST", "/power/:ref", engineers, h.updatePowerIncident},

		// Uptime: customers see their own organization's devices, read-only
		// (another organization's device is not found); staff see any.
		{"GET", "/uptime", customer, h.showUptime},
		// Traffic of the switch ports: customers see their own
		// organization's ports (another organization's port is not
		// found), staff every port and the busiest ones.
		{"GET", "/traffic", everyone, h.showTraffic},
		{"GET", "/traffic/:ref", everyone, h.showTrafficPort},
		{"GET", "/traffic/:ref/samples.csv", everyone, h.downloadTrafficSamples},
		{"GET", "/orgs/:id/uptime", staff, h.showOrgUptime},
		{"GET", "/fleet", staff, h.showFleet},
		{"GET", "/devices/:id", everyone, h.showDevice},
		{"GET", "/devices/:id/results.csv", everyone, h.downloadResults},
		{"GET", "/orgs/:id/devices/new", engineers, h.newDevice},
		{"POST", "/orgs/:id/devices", engineers, h.createDevice},
		{"GET", "/devices/:id/edit", engineers, h.editDevice},
		{"POST", "/devices/:id/edit", engineers, h.updateDevice},
		{"POST", "/devices/:id/checks", engineers, h.addCheck},
		{"POST", "/checks/:id/enable", engineers, h.enableCheck},
		{"POST", "/checks/:id/disable", engineers, h.disableCheck},
		// Network devices polled over SNMP for the traffic pages: every
		// staff role reads them; engineers add, change and remove them,
		// discover their interfaces and map the monitored ports to
		// customers. /network/new before /network/:id.
		{"GET", "/network", staff, h.showNetwork},
		{"GET", "/network/new", engineers, h.newSwitch},
		{"POST", "/network", engineers, h.createSwitch},
		{"GET", "/network/:id", staff, h.showSwitch},
		{"GET", "/network/:id/edit", engineers, h.editSwitch},
		{"POST", "/network/:id", engineers, h.updateSwitch},
		{"POST", "/network/:id/delete", engineers, h.deleteSwitch},
		{"POST", "/network/:id/discover", engineers, h.discoverSwitch},
		{"POST", "/network/:id/ports", engineers, h.addSwitchPorts},
		{"GET", "/network/:id/ports/:port", engineers, h.showSwitchPort},
		{"POST", "/network/:id/ports/:port", engineers, h.mapSwitchPort},
		{"POST", "/network/:id/ports/:port/delete", engineers, h.removeSwitchPort},
		// Cabinet power and environment (issue 19): a PDU's or sensor's
		// meters on its /network page, added, mapped to an
		// organization's cabinet and contract with thresholds, and removed
		// by engineers; the cabinets' power draw, temperature, humidity,
		// charts and readings, a customer its own organization's (another
		// organization's cabinet is not found), staff every one; the
		// power incidents the meters propose, confirmed or dismissed by
		// engineers.
		{"POST", "/network/:id/meters", engineers, h.addFacilityMeter},
		{"GET", "/network/:id/meters/:meter", engineers, h.showFacilityMeter},
		{"POST", "/network/:id/meters/:meter", engineers, h.updateFacilityMeter},
		{"POST", "/network/:id/meters/:meter/delete", engineers, h.removeFacilityMeter},
		{"GET", "/cabinets", everyone, h.showCabinets},
		{"GET", "/cabinets/:key", everyone, h.showCabinet},
		{"GET", "/cabinets/:key/readings.csv", everyone, h.downloadCabinetReadings},
		{"GET", "/power/proposals/:ref", engineers, h.showProposal},
		{"POST", "/power/proposals/:ref/confirm", engineers, h.confirmProposal},
		{"POST", "/power/proposals/:ref/dismiss", engineers, h.dismissProposal},
		{"GET", "/outages/:id", everyone, h.showOutage},
		{"GET", "/outages/:id/dossier.pdf", everyone, h.downloadDossier},
		{"POST", "/outages/:id/cause", engineers, h.setOutageCause},
		{"POST", "/outages/:id/deliveries/:delivery/retry", responders, h.retryOutageDelivery},

		// On call: every staff role sees open outages, call tasks and failed
		// notifications and logs calls; reception handles no failures.
		{"GET", "/oncall", staff, h.showOnCall},
		{"GET", "/oncall/live", staff, h.showOnCallLive},
		{"POST", "/deliveries/:id/call", callers, h.logCall},
		{"POST", "/orgs/:id/calls", callers, h.logCalls},
		{"POST", "/deliveries/:id/retry", responders, h.retryDelivery},
		{"POST", "/deliveries/:id/mark-wrong", responders, h.markDeliveryWrong},

		// Operations under authorization (clauses 6 and 7): customers see
		// their own organization's requests (another's is not found), staff
		// any; engineers record authorizations and do the work.
		{"GET", "/operations", everyone, h.showOperations},
		{"GET", "/operations/new", customer, h.newRequest},
		{"POST", "/operations", customer, h.createRequest},
		{"GET", "/orgs/:id/operations/new", engineers, h.newRequestForOrg},
		{"POST", "/orgs/:id/operations", engineers, h.createRequestForOrg},
		{"GET", "/operations/:id", everyone, h.showOperation},
		{"GET", "/operations/:id/form.pdf", everyone, h.downloadForm},
		{"GET", "/operations/:id/report.pdf", everyone, h.downloadReport},
		{"GET", "/operations/:id/documents/:doc", everyone, h.downloadDocument},
		{"POST", "/operations/:id/messages", correspondents, h.postMessage},
		{"POST", "/operations/:id/withdraw", customer, h.withdrawRequest},
		// The customer returns the signed form; engineers file one received otherwise.
		{"POST", "/operations/:id/authorizations", uploaders, h.uploadAuthorization},
		{"POST", "/operations/:id/authorizations/:auth/accept", engineers, h.acceptAuthorization},
		{"POST", "/operations/:id/authorizations/:auth/reject", engineers, h.rejectAuthorization},
		{"POST", "/operations/:id/phone", engineers, h.recordPhoneAuthorization},
		{"POST", "/operations/:id/state", engineers, h.setOperationState},
		{"GET", "/operations/:id/outages/:outage/classify", engineers, h.showClassifyOutage},
		{"POST", "/operations/:id/outages/:outage/classify", engineers, h.classifyOutage},

		// Visitor passes, check-in and check-out (clause 9): the customer
		// downloads its organization's passes, staff any; the desk checks
		// visitors in by the pass's QR code or by hand, and out again.
		{"GET", "/visits/:ref/pass.pdf", everyone, h.downloadPass},
		{"GET", "/reception/today", desk, h.showToday},
		{"POST", "/reception/checkin", desk, h.scanCheckIn},
		{"POST", "/reception/visitors/:id/checkin", desk, h.checkInVisitor},
		{"POST", "/reception/visitors/:id/checkout", desk, h.checkOutVisitor},
		{"POST", "/reception/visitors/:id/badge", desk, h.returnBadge},
		{"POST", "/reception/visitors/:id/badge-number", desk, h.handOutBadge},
		// Reception's desk (clause 9): the queue of visit requests and the
		// decision on each; every organization's visits, a bad reference
		// is not found.
		{"GET", "/reception", desk, h.showReception},
		{"GET", "/reception/visits/:ref", desk, h.showReceptionVisit},
		{"POST", "/reception/visits/:ref/approve", desk, h.approveVisit},
		{"POST", "/reception/visits/:ref/refuse", desk, h.refuseVisit},
		// Standing access lists (issue 19): a customer organization's users
		// read its list and access history, its administrator (checked by
		// the handlers) adds, changes, revokes and reissues passes; the desk
		// reads every organization's, revokes and reissues, and checks the
		// people in (by the pass at /reception/checkin, or by hand) and out.
		// Another organization's entry is not found. Fixed paths before
		// /access/:ref.
		{"GET", "/access", standingReaders, h.showStanding},
		{"GET", "/access/new", customer, h.newStanding},
		{"POST", "/access", customer, h.createStanding},
		{"GET", "/access/history", standingReaders, h.showStandingHistory},
		{"GET", "/access/history.csv", standingReaders, h.downloadStandingHistory},
		{"GET", "/access/:ref", standingReaders, h.showStandingEntry},
		{"GET", "/access/:ref/edit", customer, h.editStanding},
		{"POST", "/access/:ref", customer, h.updateStanding},
		{"POST", "/access/:ref/revoke", standingReaders, h.revokeStanding},   // the org's admin, the desk
		{"POST", "/access/:ref/reissue", standingReaders, h.reissueStanding}, // the org's admin, the desk
		{"GET", "/access/:ref/pass.pdf", standingReaders, h.downloadStandingPass},
		{"POST", "/reception/access/:ref/checkin", desk, h.checkInStanding},
		{"POST", "/reception/access/:ref/checkout", desk, h.checkOutStanding},
		{"POST", "/reception/access/:ref/badge", desk, h.returnStandingBadge},
		// Visits' log and calendar feeds. The feed's URL holds its token: no
		// session, and the request log cuts the token out.
		{"GET", "/reception/log", visitLogReaders, h.showVisitLog},
		{"GET", "/reception/visits.csv", visitLogReaders, h.downloadVisitLog},
		{"GET", "/visits.csv", customer, h.downloadVisitHistory},
		{"GET", "/account/calendar", calendarUsers, h.showCalendar},
		{"POST", "/account/calendar", calendarUsers, h.createCalendarToken},
		{"POST", "/account/calendar/revoke", calendarUsers, h.revokeCalendarToken},
		{"GET", "/calendar/:token", bare, h.serveCalendar},
		// Data-center visits (clause 9): customers ask for, change and
		// cancel their own organization's visits (another's is not found);
		// every staff role sees them all, identity numbers masked.
		{"GET", "/visits", everyone, h.showVisits},
		{"GET", "/visits/new", customer, h.newVisit},
		{"POST", "/visits/new", customer, h.createVisit},
		{"GET", "/visits/:ref", everyone, h.showVisit},
		{"GET", "/visits/:ref/edit", customer, h.editVisit},
		{"POST", "/visits/:ref/edit", customer, h.updateVisit},
		{"POST", "/visits/:ref/cancel", customer, h.cancelVisit},

		// Shipments (issue 19): customers announce inbound shipments and
		// ask for outbound ones of their own organization (another's is not
		// found); every staff role reads them, collectors' IDs masked; the
		// desk (reception, engineers, admins) records arrivals, collections
		// and hand-overs, IDs opened for reception only.
		{"GET", "/shipments", everyone, h.showShipments},
		{"GET", "/shipments.csv", customer, h.downloadShipments},
		{"GET", "/shipments/new", customer, h.newShipment},
		{"POST", "/shipments/new", customer, h.createShipment},
		{"GET", "/shipments/outbound/new", customer, h.newOutbound},
		{"POST", "/shipments/outbound/new", customer, h.createOutbound},
		{"GET", "/shipments/:ref", everyone, h.showShipment},
		{"GET", "/shipments/:ref/photo/:name", everyone, h.downloadShipmentPhoto},
		{"GET", "/shipments/:ref/edit", customer, h.editShipment},
		{"POST", "/shipments/:ref/edit", customer, h.updateShipment},
		{"POST", "/shipments/:ref/cancel", customer, h.cancelShipment},
		{"GET", "/reception/shipments", shipmentDesk, h.showShipmentDesk},
		{"GET", "/reception/shipments.csv", shipmentDesk, h.downloadShipments},
		{"GET", "/reception/shipments/arrival", shipmentDesk, h.newUnannounced},
		{"POST", "/reception/shipments/arrival", shipmentDesk, h.createUnannounced},
		{"GET", "/reception/shipments/:ref", shipmentDesk, h.showDeskShipment},
		{"POST", "/reception/shipments/:ref/arrive", shipmentDesk, h.arriveShipment},
		{"POST", "/reception/shipments/:ref/collect", shipmentDesk, h.collectShipment},
		{"POST", "/reception/shipments/:ref/handover", shipmentDesk, h.handOverShipment},

		// Complaints (clause 8): customers see their organization's; staff
		// the queue and the monthly figures, never a complaint naming them.
		{"GET", "/complaints", everyone, h.showComplaints},
		{"GET", "/complaints/figures", staff, h.showComplaintFigures},
		// Written complaints (clause 8): a customer files one about its
		// own organization's service; the desk records one received by
		// phone, email or letter. Every staff role reads them, but a
		// complaint naming the reader, like another organization's, is
		// not found, so the actions' routes let every role through and
		// their handlers find the complaint first (404), then refuse a
		// role that may not act (403, who may in the comment of each).
		{"GET", "/complaints/new", complainants, h.newComplaint},
		{"POST", "/complaints/new", complainants, h.createComplaint},
		{"GET", "/complaints/:ref", everyone, h.showComplaint},
		{"GET", "/complaints/:ref/files/:file", everyone, h.downloadComplaintFile},
		{"GET", "/complaints/:ref/record.pdf", everyone, h.downloadComplaintRecord},
		{"POST", "/complaints/:ref/messages", everyone, h.postComplaintMessage}, // complainants
		{"POST", "/complaints/:ref/files", everyone, h.attachComplaintFile},     // complainants
		{"POST", "/complaints/:ref/report", everyone, h.postComplaintReport},    // complaintDesk
		{"POST", "/complaints/:ref/resolve", everyone, h.resolveComplaint},      // complaintDesk
		{"POST", "/complaints/:ref/assign", everyone, h.assignComplaint},        // complaintDesk
		{"POST", "/complaints/:ref/confirm", everyone, h.confirmComplaint},      // customer
		{"POST", "/complaints/:ref/reopen", everyone, h.reopenComplaint},        // customer

		// Contracts (clauses 3 and 11): customers read their own
		// organization's (another's is not found), staff every one; the
		// desk records and changes them; the installation is recorded done
		// by the desk or an engineer. /contracts/new before /contracts/:ref.
		{"GET", "/contracts", everyone, h.showContracts},
		{"GET", "/contracts/new", contractDesk, h.newContract},
		{"POST", "/contracts", contractDesk, h.createContract},
		{"GET", "/contracts/:ref", everyone, h.showContract},
		{"GET", "/contracts/:ref/edit", contractDesk, h.editContract},
		{"POST", "/contracts/:ref", contractDesk, h.updateContract},
		{"POST", "/contracts/:ref/installation", installers, h.completeInstallation},

		// Planned maintenance (agreement §1, agreed maintenance): staff see
		// every window, a customer those touching its organization (another
		// is not found); engineers announce and cancel, customers answer.
		{"GET", "/maintenance", everyone, h.showMaintenanceList},
		{"GET", "/maintenance/new", engineers, h.newMaintenance},
		{"POST", "/maintenance", engineers, h.createMaintenance},
		{"GET", "/maintenance/:ref", everyone, h.showMaintenance},
		{"POST", "/maintenance/:ref/answer", customer, h.answerMaintenance},
		{"POST", "/maintenance/:ref/cancel", engineers, h.cancelMaintenance},

		{"GET", "/admin/orgs/new", admin, h.newOrg},
		{"POST", "/admin/orgs", admin, h.createOrg},
		{"GET", "/admin/orgs/:id", admin, h.editOrg},
		{"POST", "/admin/orgs/:id", admin, h.updateOrg},

		// The sites visitors enter: visiting hours and capacity.
		{"GET", "/admin/sites", admin, h.showSites},
		{"POST", "/admin/sites", admin, h.createSite},
		{"GET", "/admin/sites/:id", admin, h.editSite},
		{"POST", "/admin/sites/:id", admin, h.updateSite},

		// The working-day calendar (agreement §3): public holidays and
		// make-up working days, one by one or a year from a CSV file.
		{"GET", "/admin/workdays", admin, h.showWorkDays},
		{"GET", "/admin/workdays.csv", admin, h.downloadWorkDays},
		{"POST", "/admin/workdays", admin, h.saveWorkDay},
		{"POST", "/admin/workdays/import", admin, h.importWorkDays},
		{"POST", "/admin/workdays/:day/delete", admin, h.deleteWorkDay},

		{"GET", "/admin/users", admin, h.showUsers},
		{"GET", "/admin/users/new", admin, h.newUser},
		{"POST", "/admin/users", admin, h.createUser},
		{"GET", "/admin/users/:id", admin, h.editUser},
		{"POST", "/admin/users/:id", admin, h.updateUser},
		{"POST", "/admin/users/:id/disable", admin, h.disableUser},
		{"POST", "/admin/users/:id/enable", admin, h.enableUser},
		{"POST", "/admin/users/:id/reset-password", admin, h.resetPassword},
		{"POST", "/admin/users/:id/totp-required", admin, h.setTOTPRequired},
		{"POST", "/admin/users/:id/totp-reset", admin, h.resetTOTP},
		{"POST", "/admin/users/:id/org-admin", admin, h.setOrgAdmin},

		{"GET", "/admin/audit", admin, h.showAudit},
		{"GET", "/admin/audit.csv", admin, h.downloadAudit},
	}
	// The JSON API (api_routes.go): its own table, with each route's
	// OpenAPI description.
	for _, r := range h.apiRoutes() {
		rs = append(rs, Route{r.Method, r.Path, r.Access, r.Handler})
	}
	return rs
}

// RouteInfo is one line of `portal routes`.
type RouteInfo struct {
	Method, Path string
	Access       Access
}

// Routes lists every route with its policy, sorted by path then method.
func Routes() []RouteInfo {
	var out []RouteInfo
	for _, r := range (&Handler{}).routes() {
		out = append(out, RouteInfo{r.Method, r.Path, r.Access})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Method < out[j].Method
	})
	return out
}
