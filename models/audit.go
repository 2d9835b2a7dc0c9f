package models

import (
	"context"
	"encoding/json"
	"time"

	"gorm.io/gorm"
)

// Actor is who does something, from where. A nil UserID is the system or
// an operator at the command line.
type Actor struct {
	UserID *int64
	Email  string
	IP     string
	// TokenID is the API token the user acted through (0: a page); the
	// audit record's detail names it.
	TokenID int64
}

// UserActor is a signed-in user acting from ip.
func UserActor(u *User, ip string) Actor {
	id := u.ID
	return Actor{UserID: &id, Email: u.Email, IP: ip}
}

// SystemActor is the portal itself or an operator's shell command.
func SystemActor(what string) Actor { return Actor{Email: what} }

// Audit actions. Each names an event people will search for.
const (
	AuditSignIn               = "auth.sign_in"
	AuditSignInFailed         = "auth.sign_in_failed"
	AuditSignInLimited        = "auth.sign_in_limited"
	AuditSignOut              = "auth.sign_out"
	AuditTOTPFailed           = "auth.totp_failed"
	AuditTOTPEnabled          = "auth.totp_enabled"
	AuditTOTPDisabled         = "auth.totp_disabled"
	AuditTOTPRequired         = "admin.totp_required"
	AuditRecoveryCodeUsed     = "auth.recovery_code_used"
	AuditRecoveryCodesMade    = "auth.recovery_codes_made"
	AuditSessionsEnded        = "auth.other_sessions_ended"
	AuditOrgAdminSet          = "admin.org_admin_set"
	AuditUserInvited          = "admin.user_invited"
	AuditInvitationAccepted   = "auth.invitation_accepted"
	AuditPasswordChanged      = "auth.password_changed"
	AuditPasswordChangeFailed = "auth.password_change_failed"
	AuditPasswordReset        = "admin.password_reset"
	AuditUserCreated          = "admin.user_created"
	AuditUserUpdated          = "admin.user_updated"
	AuditUserDisabled         = "admin.user_disabled"
	AuditUserEnabled          = "admin.user_enabled"
	AuditOrgCreated           = "admin.org_created"
	AuditOrgUpdated           = "admin.org_updated"
	AuditDeviceCreated        = "device.created"
	AuditDeviceUpdated        = "device.updated"
	AuditCheckCreated         = "check.created"
	AuditCheckUpdated         = "check.updated"
	AuditOutageCause          = "outage.cause_set"
	AuditDossierDownloaded    = "outage.dossier_downloaded"
	AuditContactCreated       = "contact.created"
	AuditContactUpdated       = "contact.updated"
	AuditContactDeleted       = "contact.deleted"
	AuditContactMarkedWrong   = "contact.marked_wrong"
	AuditContactsConfirmed    = "contact.list_confirmed"
	AuditCallLogged           = "notify.call_logged"
	AuditDeliveryRetried      = "notify.delivery_retried"
	AuditNotifySettings       = "notify.settings_changed"
	AuditNoticeOutcome        = "deduction.outcome_changed"
	AuditNoticeFrozen         = "deduction.outcome_frozen"
	AuditMonthClosed          = "deduction.month_closed"

	AuditRequestCreated     = "operation.requested"
	AuditFormDownloaded     = "operation.form_downloaded"
	AuditAuthUploaded       = "authorization.uploaded"
	AuditAuthAccepted       = "authorization.accepted"
	AuditAuthRejected       = "authorization.rejected"
	AuditPhoneAccepted      = "authorization.phone_accepted"
	AuditPhoneRefused       = "authorization.phone_refused"
	AuditPhoneLocked        = "authorization.phone_locked"
	AuditDocumentDownloaded = "authorization.document_downloaded"
	AuditOperationMessage   = "operation.message"
	AuditOperationState     = "operation.state_changed"
	AuditReportDownloaded   = "operation.report_downloaded"

	AuditContactsRequested = "contact.list_requested"
	AuditExported          = "admin.audit_exported"

	AuditIncidentOpened   = "incident.opened"
	AuditIncidentRenamed  = "incident.renamed"
	AuditIncidentCause    = "incident.cause_set"
	AuditIncidentUpdate   = "incident.update_posted"
	AuditIncidentResolved = "incident.resolved"
	AuditOrgServiceSet    = "admin.org_service_set"

	AuditVisitRequested  = "visit.requested"
	AuditVisitChanged    = "visit.changed"
	AuditVisitCancelled  = "visit.cancelled"
	AuditVisitApproved   = "visit.approved"
	AuditVisitRefused    = "visit.refused"
	AuditVisitCheckedIn  = "visit.checked_in"
	AuditBadgeHandedOut  = "visit.badge_handed_out"
	AuditBadgeReturned   = "visit.badge_returned"
	AuditVisitCheckedOut = "visit.checked_out"
	AuditPassDownloaded  = "visit.pass_downloaded"
	AuditVisitsExported  = "visit.log_exported"
	AuditVisitorsPurged  = "visit.visitors_purged"
	AuditSiteSaved       = "admin.site_saved"

	AuditComplaintFiled     = "complaint.filed"
	AuditComplaintMessage   = "complaint.message"
	AuditComplaintReport    = "complaint.report"
	AuditComplaintState     = "complaint.state_changed"
	AuditComplaintAssigned  = "complaint.assigned"
	AuditComplaintFile      = "complaint.file_added"
	AuditComplaintRecordPDF = "complaint.record_downloaded"

	AuditContractCreated       = "contract.created"
	AuditContractUpdated       = "contract.updated"
	AuditInstallationCompleted = "installation.completed"

	AuditCalendarTokenMade    = "auth.calendar_feed_made"
	AuditCalendarTokenRevoked = "auth.calendar_feed_revoked"

	AuditMaintenanceAnnounced = "maintenance.announced"
	AuditMaintenanceAnswered  = "maintenance.answered"
	AuditMaintenanceCancelled = "maintenance.cancelled"

	AuditSwitchAdded   = "network.switch_added"
	AuditSwitchChanged = "network.switch_changed"
	AuditSwitchRemoved = "network.switch_removed"
	AuditPortsAdded    = "network.ports_added"
	AuditPortMapped    = "network.port_mapped"
	AuditPortRemoved   = "network.port_removed"

	AuditTokenCreated = "auth.token_created"
	AuditTokenRevoked = "auth.token_revoked"
	AuditSSORefused   = "auth.sso_refused"

	AuditWebhookCreated = "webhook.created"
	AuditWebhookUpdated = "webhook.updated"
	AuditWebhookDeleted = "webhook.deleted"
	AuditWebhookRotated = "webhook.secret_rotated"
	AuditWebhookTested  = "webhook.test_sent"
	// AuditWebhookDisabled: the portal stopped an endpoint after failures.
	AuditWebhookDisabled = "webhook.disabled"
)

// AuditActions lists every action, for the filter on the audit page.
var AuditActions = []string{AuditSignIn, AuditSignInFailed, AuditSignInLimited, AuditSignOut,
	AuditTOTPFailed, AuditTOTPEnabled, AuditTOTPDisabled, AuditTOTPRequired, AuditRecoveryCodeUsed, AuditRecoveryCodesMade,
	AuditSessionsEnded, AuditOrgAdminSet, AuditUserInvited, AuditInvitationAccepted, AuditPasswordChanged,
	AuditPasswordChangeFailed, AuditPasswordReset, AuditUserCreated, AuditUserUpdated, AuditUserDisabled, AuditUserEnabled,
	AuditOrgCreated, AuditOrgUpdated, AuditDeviceCreated, AuditDeviceUpdated, AuditCheckCreated, AuditCheckUpdated, AuditHistoryImported,
	AuditOutageCause, AuditDossierDownloaded, AuditContactCreated, AuditContactUpdated, AuditContactDeleted, AuditContactMarkedWrong,
	AuditContactsConfirmed, AuditCallLogged, AuditDeliveryRetried, AuditNotifySettings,
	AuditNoticeOutcome, AuditNoticeFrozen, AuditMonthClosed,
	AuditRequestCreated, AuditFormDownloaded, AuditAuthUploaded, AuditAuthAccepted, AuditAuthRejected,
	AuditPhoneAccepted, AuditPhoneRefused, AuditPhoneLocked, AuditDocumentDownloaded, AuditOperationMessage,
	AuditOperationState, AuditReportDownloaded, AuditContactsRequested, AuditExported,
	AuditIncidentOpened, AuditIncidentRenamed, AuditIncidentCause, AuditIncidentUpdate, AuditIncidentResolved, AuditOrgServiceSet,
	AuditVisitRequested, AuditVisitChanged, AuditVisitCancelled, AuditVisitApproved, AuditVisitRefused, AuditVisitCheckedIn,
	AuditBadgeHandedOut, AuditBadgeReturned, AuditVisitCheckedOut, AuditPassDownloaded, AuditVisitsExported, AuditVisitorsPurged, AuditSiteSaved,
	AuditComplaintFiled, AuditComplaintMessage, AuditComplaintReport, AuditComplaintState, AuditComplaintAssigned, AuditComplaintFile,
	AuditComplaintRecordPDF,
	AuditContractCreated, AuditContractUpdated, AuditInstallationCompleted,
	AuditCalendarTokenMade, AuditCalendarTokenRevoked,
	AuditWorkDaysChanged, AuditWorkDaysImported, AuditPowerRecorded, AuditPowerUpdated,
	AuditMaintenanceAnnounced, AuditMaintenanceAnswered, AuditMaintenanceCancelled,
	AuditSwitchAdded, AuditSwitchChanged, AuditSwitchRemoved, AuditPortsAdded, AuditPortMapped, AuditPortRemoved,
	AuditTokenCreated, AuditTokenRevoked, AuditSSORefused,
	AuditWebhookCreated, AuditWebhookUpdated, AuditWebhookDeleted, AuditWebhookRotated, AuditWebhookTested, AuditWebhookDisabled,
	AuditShipmentAnnounced, AuditShipmentUpdated, AuditShipmentCancelled, AuditShipmentArrived, AuditShipmentCollected,
	AuditShipmentOutbound, AuditShipmentHandedOver, AuditShipmentHeld, AuditShipmentsExported, AuditShipmentsPurged,
	AuditMeterAdded, AuditMeterChanged, AuditMeterRemoved, AuditProposalConfirmed, AuditProposalDismissed,
	AuditStandingAdded, AuditStandingUpdated, AuditStandingRevoked, AuditStandingReissued, AuditStandingPass,
	AuditStandingCheckedIn, AuditStandingCheckedOut, AuditStandingExported, AuditStandingPurged, AuditStandingBadge}

// AuditEvent is one line of the audit trail, and one link of its hash
// chain (audit_chain.go).
type AuditEvent struct {
	ID         int64
	At         time.Time
	ActorID    *int64
	ActorEmail string
	Action     string
	TargetType string
	TargetID   *int64
	OrgID      *int64
	IP         string `gorm:"column:ip"`
	Detail     string
	Seq        int64  // position in the chain, from 1
	PrevHash   string // Hash of entry Seq-1; empty for the first
	Hash       string // SHA-256 of this entry and PrevHash, in hex
}

func (AuditEvent) TableName() string { return "audit_events" }

// audit writes one event inside the caller's transaction, so the record and
// the change it describes land together or not at all. It locks the chain
// head until that transaction ends, so tx must be a transaction, and the
// call is best its last statement.
func (s *Store) audit(tx *gorm.DB, a Actor, action, targetType string, targetID, orgID *int64, detail map[string]any) error {
	var d string
	if a.TokenID != 0 {
		with := map[string]any{"api_token": a.TokenID}
		for k, v := range detail {
			with[k] = v
		}
		detail = with
	}
	if detail != nil {
		b, err := json.Marshal(detail)
		if err != nil {
			return err
		}
		d = string(b)
	}
	// Cut to what the database keeps, so the row hashes the same read back.
	ev := AuditEvent{At: s.now().Truncate(AuditTimePrecision), ActorID: a.UserID, ActorEmail: a.Email, Action: action,
		TargetType: targetType, TargetID: targetID, OrgID: orgID, IP: a.IP, Detail: d}
	return appendAudit(tx, &ev)
}

// Audit records an event on its own, in its own transaction.
func (s *Store) Audit(ctx context.Context, a Actor, action, targetType string, targetID, orgID *int64, detail map[string]any) error {
	return wrap(s.tx(ctx, func(tx *gorm.DB) error {
		return s.audit(tx, a, action, targetType, targetID, orgID, detail)
	}), "audit")
}

// AuditFilter narrows the audit page.
type AuditFilter struct {
	Action  string
	ActorID int64
	OrgID   int64
	// From and To bound the time of the events: From <= At < To; zero is
	// unbounded.
	From, To time.Time
	BeforeID int64 // keyset paging: events older than this ID
	Limit    int
}

// auditOfNamedComplaint is true of an audit event about a complaint naming
// the reader (the "?").
const auditOfNamedComplaint = "target_type = 'complaint' AND target_id IN (SELECT id FROM complaints WHERE named_user_id = ?)"

// ListAudit returns the events sc sees newest first (events of no
// organization only for AllOrgs).
func (s *Store) ListAudit(ctx context.Context, sc Scope, f AuditFilter) ([]AuditEvent, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	utc(&f.From, &f.To)
	q := sc.apply(s.db.WithContext(ctx).Model(&AuditEvent{}), "org_id")
	q = sc.hideNamed(q, auditOfNamedComplaint)
	if f.Action != "" {
		q = q.Where("action = ?", f.Action)
	}
	if f.ActorID != 0 {
		q = q.Where("actor_id = ?", f.ActorID)
	}
	if f.OrgID != 0 {
		q = q.Where("org_id = ?", f.OrgID)
	}
	if !f.From.IsZero() {
		q = q.Where("at >= ?", f.From)
	}
	if !f.To.IsZero() {
		q = q.Where("at < ?", f.To)
	}
	if f.BeforeID != 0 {
		q = q.Where("id < ?", f.BeforeID)
	}
	var out []AuditEvent
	err := q.Order("id DESC").Limit(f.Limit).Find(&out).Error
	return out, wrap(err, "list audit")
}

// auditBatch holds the audit records of a transaction until it has taken
// every lock it needs. appendAudit locks the head of the audit chain until
// the transaction commits; a transaction that wrote a record and then
// waited for a day's or an outage's lock could wait in a cycle with one
// holding that lock and waiting for the head. So the transactions that
// re-derive missed notices (rederiveTx) collect their records here and
// write them last (writeAudits), after their last lock.
type auditBatch struct{ evs []pendingAudit }

type pendingAudit struct {
	actor              Actor
	action, targetType string
	targetID, orgID    *int64
	detail             map[string]any
}

// add queues a record, as audit would write it.
func (b *auditBatch) add(a Actor, action, targetType string, targetID, orgID *int64, detail map[string]any) {
	b.evs = append(b.evs, pendingAudit{a, action, targetType, copyID(targetID), copyID(orgID), detail})
}

func copyID(p *int64) *int64 {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// writeAudits writes the queued records in the order they were queued.
func (s *Store) writeAudits(tx *gorm.DB, b *auditBatch) error {
	for _, e := range b.evs {
		if err := s.audit(tx, e.actor, e.action, e.targetType, e.targetID, e.orgID, e.detail); err != nil {
			return err
		}
	}
	b.evs = nil
	return nil
}
