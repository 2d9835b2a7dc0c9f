package models

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Operation messages and phone locks go by email only, to people of the
// customer: not to every contact by every chosen channel, as outages do.
// Their deliveries name no outage and are never "authorized", so they
// cannot stop an emergency clock.

// defaultLocale is the language of a user who never chose one
// (locales.Default, which models may not import).
const defaultLocale = "zh-CN"

// emailRecipient is one address an event goes to: a contact, or a
// customer user (ContactID 0).
type emailRecipient struct {
	ContactID int64
	Address   string
	Locale    string
}

// customerEmailDeliveries expands an operation message, a phone lock or
// reception's decision on a visit into one email delivery per address. channelFor says whether this portal
// can send email at all.
func (s *Store) customerEmailDeliveries(tx *gorm.DB, ev OutboxEvent, now time.Time, channelFor func(Channel) string) ([]Delivery, error) {
	t := channelFor(ChannelEmail)
	if t == "" {
		return nil, nil
	}
	var rs []emailRecipient
	var err error
	switch ev.Kind {
	case EventOperationMessage:
		rs, err = operationRecipients(tx, ev.OrgID, ev.RefID)
	case EventPhoneLocked:
		rs, err = phoneLockRecipients(tx, ev.OrgID, ev.RefID)
	case EventOutageCauseSpan:
		rs, err = causeSpanRecipients(tx, ev)
	case EventContactsRequested:
		rs, err = orgUserRecipients(tx, ev.OrgID)
	case EventVisitApproved, EventVisitRefused:
		rs, err = visitRecipients(tx, ev.OrgID, ev.RefID)
	case EventComplaintReply:
		rs, err = complaintRecipients(tx, ev.OrgID, ev.RefID)
	case EventMaintenanceAnnounced, EventMaintenanceCancelled:
		rs, err = maintenanceRecipients(tx, ev.OrgID)
	case EventShipmentArrived, EventShipmentHeld:
		rs, err = shipmentRecipients(tx, ev.OrgID, ev.RefID)
	}
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var ds []Delivery
	for _, r := range rs {
		key := strings.ToLower(strings.TrimSpace(r.Address))
		if key == "" || seen[key] {
			continue
		}
		seen[key] = true
		locale := r.Locale
		if locale == "" {
			locale = defaultLocale
		}
		ds = append(ds, Delivery{OrgID: ev.OrgID, EventID: ev.ID, Event: ev.Kind, OutageID: 0, ContactID: r.ContactID,
			Channel: ChannelEmail, Transport: t, Address: strings.TrimSpace(r.Address), Locale: locale, Authorized: false,
			Status: DeliveryPending, NextAttemptAt: now, LeaseUntil: neverLeased, CreatedAt: now})
	}
	return ds, nil
}

// operationRecipients are whom an engineer's message on a request goes
// to: the customer user who asked for the work (if still enabled), then
// the contacts whose authorization of it was accepted, in the order they
// authorized. A message that no longer exists, or that is not a staff
// message, goes to nobody.
func operationRecipients(tx *gorm.DB, orgID, messageID int64) ([]emailRecipient, error) {
	var m OperationMessage
	if err := tx.Where("org_id = ? AND id = ?", orgID, messageID).First(&m).Error; err != nil {
		return nil, optionalRow(err)
	}
	if !m.Staff || m.Kind != "message" {
		return nil, nil
	}
	var r OperationRequest
	if err := tx.Where("org_id = ? AND id = ?", orgID, m.RequestID).First(&r).Error; err != nil {
		return nil, optionalRow(err)
	}
	out, err := requesterRecipients(tx, orgID, r)
	if err != nil {
		return nil, err
	}
	var auths []Authorization
	if err := tx.Select("contact_id").Where("org_id = ? AND request_id = ? AND status = ?", orgID, r.ID, AuthAccepted).
		Order("decided_at, id").Find(&auths).Error; err != nil {
		return nil, err
	}
	if len(auths) == 0 {
		return out, nil
	}
	ids := make([]int64, len(auths))
	for i, a := range auths {
		ids[i] = a.ContactID
	}
	var cs []Contact
	if err := findIn(tx, ids, &cs, func(q *gorm.DB, chunk []int64) *gorm.DB {
		return q.Select("id", "email", "locale").Where("org_id = ? AND id IN ?", orgID, chunk)
	}); err != nil {
		return nil, err
	}
	byID := map[int64]Contact{}
	for _, c := range cs {
		byID[c.ID] = c
	}
	for _, id := range ids {
		if c, ok := byID[id]; ok && c.Email != "" {
			out = append(out, emailRecipient{ContactID: c.ID, Address: c.Email, Locale: c.Locale})
		}
	}
	return out, nil
}

// causeSpanRecipients are whom a cause span set from an operation is told
// to: the customer user who asked for the work, if still enabled. A
// request raised by staff for a caller has nobody to tell by this path.
func causeSpanRecipients(tx *gorm.DB, ev OutboxEvent) ([]emailRecipient, error) {
	var n CauseSpanNotice
	if err := json.Unmarshal([]byte(ev.Payload), &n); err != nil {
		return nil, fmt.Errorf("cause span event %d: %w", ev.ID, err)
	}
	var r OperationRequest
	if err := tx.Where("org_id = ? AND id = ?", ev.OrgID, n.RequestID).First(&r).Error; err != nil {
		return nil, optionalRow(err)
	}
	return requesterRecipients(tx, ev.OrgID, r)
}

// requesterRecipients is the customer user who asked for request r, if
// still enabled (none for a request raised by staff for a caller).
func requesterRecipients(tx *gorm.DB, orgID int64, r OperationRequest) ([]emailRecipient, error) {
	return customerUserRecipients(tx, orgID, r.RequestedBy)
}

// customerUserRecipients is customer user id of orgID, if still enabled
// (none for nil).
func customerUserRecipients(tx *gorm.DB, orgID int64, id *int64) ([]emailRecipient, error) {
	if id == nil {
		return nil, nil
	}
	var us []User
	if err := tx.Where("id = ? AND org_id = ? AND role = ? AND disabled_at IS NULL", *id, orgID, RoleCustomer).
		Find(&us).Error; err != nil {
		return nil, err
	}
	var out []emailRecipient
	for _, u := range us {
		out = append(out, emailRecipient{Address: u.Email, Locale: u.Locale})
	}
	return out, nil
}

// CauseSpanFacts is what an email about a cause span set from an
// operation says: the span as set, and the outage's split as it is now.
type CauseSpanFacts struct {
	Org      Organization
	Request  OperationRequest
	Outage   Outage
	Device   string
	Notice   CauseSpanNotice
	Segments []OutageSegment
	Now      time.Time
}

// CauseSpanFacts loads outbox event eventID of orgID (an
// EventOutageCauseSpan) with its request and outage. What no longer
// exists is ErrNotFound.
func (s *Store) CauseSpanFacts(ctx context.Context, sc Scope, orgID, eventID int64) (*CauseSpanFacts, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "cause span facts")
	}
	db := s.db.WithContext(ctx)
	var ev OutboxEvent
	if err := db.Where("org_id = ? AND id = ? AND kind = ?", orgID, eventID, EventOutageCauseSpan).First(&ev).Error; err != nil {
		return nil, notFound(err)
	}
	f := &CauseSpanFacts{Now: s.now()}
	if err := json.Unmarshal([]byte(ev.Payload), &f.Notice); err != nil {
		return nil, fmt.Errorf("models: cause span facts of event %d: %w", eventID, err)
	}
	if err := db.Where("org_id = ? AND id = ?", orgID, f.Notice.RequestID).First(&f.Request).Error; err != nil {
		return nil, notFound(err)
	}
	if err := db.Where("org_id = ? AND id = ?", orgID, ev.RefID).First(&f.Outage).Error; err != nil {
		return nil, notFound(err)
	}
	var d Device
	if err := optionalRow(db.Select("id", "name").Where("org_id = ? AND id = ?", orgID, f.Outage.DeviceID).First(&d).Error); err != nil {
		return nil, fmt.Errorf("models: cause span facts of event %d: %w", eventID, err)
	}
	f.Device = d.Name
	segs, err := s.outageSegments(db, orgID, []Outage{f.Outage}, f.Now)
	if err != nil {
		return nil, fmt.Errorf("models: cause span facts of event %d: %w", eventID, err)
	}
	f.Segments = segs[f.Outage.ID]
	if err := optionalRow(db.First(&f.Org, orgID).Error); err != nil {
		return nil, fmt.Errorf("models: cause span facts of event %d: %w", eventID, err)
	}
	return f, nil
}

// phoneLockRecipients are whom a phone lock is told to: every enabled
// customer user of the organization, then the locked contact itself. A
// contact deleted since takes its lock with it: nobody is told.
func phoneLockRecipients(tx *gorm.DB, orgID, contactID int64) ([]emailRecipient, error) {
	var c Contact
	if err := tx.Select("id", "email", "locale").Where("org_id = ? AND id = ?", orgID, contactID).First(&c).Error; err != nil {
		return nil, optionalRow(err)
	}
	out, err := orgUserRecipients(tx, orgID)
	if err != nil {
		return nil, err
	}
	if c.Email != "" {
		out = append(out, emailRecipient{ContactID: c.ID, Address: c.Email, Locale: c.Locale})
	}
	return out, nil
}

// optionalRow turns "no such row" into nothing to do.
func optionalRow(err error) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil
	}
	return err
}

// OperationNoticeFacts is what an email about an engineer's message on an
// operation request says.
type OperationNoticeFacts struct {
	Org     Organization
	Request OperationRequest
	Message OperationMessage
}

// OperationNoticeFacts loads message messageID of orgID with its request.
// A message or request that no longer exists (or is another
// organization's) is ErrNotFound.
func (s *Store) OperationNoticeFacts(ctx context.Context, sc Scope, orgID, messageID int64) (*OperationNoticeFacts, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "operation notice facts")
	}
	db := s.db.WithContext(ctx)
	f := &OperationNoticeFacts{}
	if err := db.Where("org_id = ? AND id = ?", orgID, messageID).First(&f.Message).Error; err != nil {
		return nil, wrap(notFound(err), "operation notice facts")
	}
	if err := db.Where("org_id = ? AND id = ?", orgID, f.Message.RequestID).First(&f.Request).Error; err != nil {
		return nil, wrap(notFound(err), "operation notice facts")
	}
	if err := optionalRow(db.First(&f.Org, orgID).Error); err != nil {
		return nil, fmt.Errorf("models: operation notice facts: %w", err)
	}
	return f, nil
}

// PhoneLockFacts is what an email about a contact's phone lock says.
type PhoneLockFacts struct {
	Org         Organization
	ContactID   int64
	ContactName string
	// LockedUntil is when phone authorization opens again.
	LockedUntil time.Time
}

// PhoneLockFacts loads the phone lock of contact contactID of orgID. A
// contact that no longer exists is ErrNotFound.
func (s *Store) PhoneLockFacts(ctx context.Context, sc Scope, orgID, contactID int64) (*PhoneLockFacts, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "phone lock facts")
	}
	db := s.db.WithContext(ctx)
	var c Contact
	if err := db.Select("id", "name", "phone_locked_until").Where("org_id = ? AND id = ?", orgID, contactID).First(&c).Error; err != nil {
		return nil, wrap(notFound(err), "phone lock facts")
	}
	f := &PhoneLockFacts{ContactID: c.ID, ContactName: c.Name}
	if err := optionalRow(db.First(&f.Org, orgID).Error); err != nil {
		return nil, fmt.Errorf("models: phone lock facts: %w", err)
	}
	if c.PhoneLockedUntil != nil {
		f.LockedUntil = *c.PhoneLockedUntil
		return f, nil
	}
	// No lock on the row any more: it ran an hour from the last wrong
	// passphrase.
	var a PhoneAttempt
	err := db.Where("contact_id = ? AND ok = ?", c.ID, false).Order("at DESC, id DESC").First(&a).Error
	if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, fmt.Errorf("models: phone lock facts: %w", err)
	}
	if err == nil {
		f.LockedUntil = a.At.Add(PhoneLockWindow)
	}
	return f, nil
}

// EventRef returns what outbox event eventID of orgID is about (its
// RefID: an outage, a message, a contact). A removed event is ErrNotFound.
func (s *Store) EventRef(ctx context.Context, sc Scope, orgID, eventID int64) (int64, error) {
	if !sc.Allows(orgID) {
		return 0, wrap(ErrNotFound, "event ref")
	}
	var ev OutboxEvent
	if err := s.db.WithContext(ctx).Select("id", "ref_id").Where("org_id = ? AND id = ?", orgID, eventID).First(&ev).Error; err != nil {
		return 0, wrap(notFound(err), "event ref")
	}
	return ev.RefID, nil
}

// RecipientName names whom a delivery of orgID goes to: its contact, or
// (contactID 0) the customer user with that address. "" when neither
// exists any more.
func (s *Store) RecipientName(ctx context.Context, sc Scope, orgID, contactID int64, address string) (string, error) {
	if !sc.Allows(orgID) {
		return "", wrap(ErrNotFound, "recipient name")
	}
	db := s.db.WithContext(ctx)
	if contactID != 0 {
		var c Contact
		err := db.Select("id", "name").Where("org_id = ? AND id = ?", orgID, contactID).First(&c).Error
		return c.Name, wrap(optionalRow(err), "recipient name")
	}
	var u User
	err := db.Select("id", "name").Where("org_id = ? AND role = ? AND email = ?", orgID, RoleCustomer, address).
		First(&u).Error
	return u.Name, wrap(optionalRow(err), "recipient name")
}
