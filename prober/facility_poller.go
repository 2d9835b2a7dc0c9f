package prober

import (
	"context"
	"time"

	"github.com/colo-portal/portal/models"
)

// The poller's branch for PDUs and environment sensors (Switch.IsFacility,
// docs/architecture.md "Power and environment"): the same leases,
// schedule and workers as network devices, but a poll reads the device's
// meters (Store.MetersToPoll) with GET requests of their OIDs
// (Config.SNMPMeters), turns each integer into thousandths of the meter's
// unit (models.MeterMilli) and stores the poll, stamped with its slot, in
// one call (Store.RecordFacilityPoll: readings, thresholds, power
// proposals). An OID the agent does not have gives its meter no reading.
//
// A poll the database does not take is kept in memory with the device's
// state and stored, oldest first, before the next poll's (at most
// maxPendingPolls per device; they are lost when the process stops). The
// threshold and proposal rules need the polls in order, which the
// traffic samples' spool does not keep across devices, and a day of a
// PDU's polls is small.

// facilityState is what the poller keeps of a facility device between
// its polls (owned by the poll, one at a time per device).
type facilityState struct {
	meters  []models.MeterToPoll
	pending []models.FacilityPoll // polls not stored yet, oldest first
}

// maxPendingPolls bounds the polls kept per device while the database is
// away: a day at the default 5 minutes.
const maxPendingPolls = 288

// pollMeters polls facility device t for slot.
func (sn *snmpPoller) pollMeters(ctx context.Context, t *models.PollTarget, st *swState, slot time.Time) {
	p := sn.p
	sw := &t.Switch
	fs := &st.fac
	sctx, cancel := context.WithTimeout(ctx, storeTimeout)
	ms, err := p.store.MetersToPoll(sctx, sw.ID)
	cancel()
	if err == nil {
		fs.meters = ms
	} else if ctx.Err() == nil {
		p.log.Debug("prober: meters of a device not read; polling those last read", "switch_id", sw.ID, "err", err)
	}
	if len(fs.meters) == 0 {
		sn.storeFacility(ctx, sw, fs, nil)
		return
	}
	oids := make([]string, len(fs.meters))
	for i, m := range fs.meters {
		oids[i] = m.OID
	}
	read := p.cfg.SNMPMeters
	if read == nil {
		read = SNMPReadMeters
	}
	pctx, cancel := context.WithTimeout(ctx, pollInterval(sw))
	began := time.Now()
	vals, err := read(pctx, t.Creds, oids)
	cancel()
	p.m.pollTime.Observe(time.Since(began).Seconds())
	if err != nil {
		if ctx.Err() == nil {
			sn.failed(ctx, t, st, slot, t.Creds.Scrub(err.Error()))
		}
		return
	}
	poll := &models.FacilityPoll{SwitchID: sw.ID, At: slot}
	for _, m := range fs.meters {
		if v, ok := vals[m.OID]; ok {
			poll.Values = append(poll.Values, models.FacilityValue{MeterID: m.ID, Milli: models.MeterMilli(v, m.Divisor)})
		}
	}
	if len(poll.Values) == 0 {
		// Some OIDs missing is a meter's matter (no reading); all of them,
		// the device's: wrong OIDs, or not the device staff think.
		sn.failed(ctx, t, st, slot, "the agent has none of the meters' OIDs (noSuchObject or not an integer)")
		sn.storeFacility(ctx, sw, fs, nil)
		return
	}
	p.stats.polls.Add(1)
	sn.storeFacility(ctx, sw, fs, poll)
	if st.lastErr != "" {
		p.log.Info("prober: switch answers again", "switch_id", sw.ID, "switch", sw.Name)
		st.lastErr = ""
	}
	sn.polled(ctx, sw.ID, slot, "")
}

// storeFacility stores the polls kept from before and then poll (nil:
// none new), oldest first, stopping at the first the database refuses.
func (sn *snmpPoller) storeFacility(ctx context.Context, sw *models.Switch, fs *facilityState, poll *models.FacilityPoll) {
	p := sn.p
	if poll != nil && len(poll.Values) > 0 {
		fs.pending = append(fs.pending, *poll)
	}
	if over := len(fs.pending) - maxPendingPolls; over > 0 {
		p.log.Error("prober: database away too long, a device's oldest polls dropped", "switch_id", sw.ID, "polls", over)
		fs.pending = append(fs.pending[:0], fs.pending[over:]...)
	}
	kept := len(fs.pending) > 1 || (len(fs.pending) == 1 && poll == nil)
	for len(fs.pending) > 0 {
		wctx, cancel := context.WithTimeout(ctx, p.cfg.WriteTimeout)
		_, err := p.store.RecordFacilityPoll(wctx, fs.pending[0])
		cancel()
		if err != nil {
			if ctx.Err() == nil && !kept {
				p.log.Warn("prober: a device's poll not stored; kept to store with the next", "switch_id", sw.ID, "err", err)
			}
			return
		}
		fs.pending = fs.pending[1:]
	}
	if kept {
		p.log.Info("prober: a device's kept polls stored", "switch_id", sw.ID)
	}
	fs.pending = nil
}
