package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"gorm.io/gorm"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/prober"
	"github.com/colo-portal/portal/prober/snmpagent"
)

// SNMPOptions are the figures of `portal bench snmp`; see its flags.
type SNMPOptions struct {
	Switches int // SNMP agents, each on its own 127.0.0.1 port
	Ports    int // monitored interfaces per switch
	Rounds   int // polls of every switch
	MaxOIDs  int // variables per GET, the switches' limit (beyond it they answer tooBig)
	// Only32Every makes every Nth port of a switch serve 32-bit counters
	// only (0: none).
	Only32Every int
	// Interval is the time between two rounds as the agents and the
	// samples see it: the agents' clock moves on by it before each round,
	// so the counters and the stored samples are those of real 5-minute
	// rounds, while the rounds run back to back.
	Interval time.Duration
	Workers  int    // switches polled at once
	DB       string // as ProbeOptions.DB
}

// snmpPoll is the poll the benchmark measures: the portal's.
var snmpPoll prober.PollFunc = prober.SNMPPoll

// snmpBatch is the samples per RecordTraffic call, as the prober's writer
// batches results (PORTAL_PROBER_BATCH's default).
const snmpBatch = 5000

// SNMP measures the polling of Switches × Ports interfaces over SNMP:
// each switch is an in-process agent (prober/snmpagent) on 127.0.0.1
// serving IF-MIB counters that grow at a steady rate per interface; each
// round polls every switch through a prober.PollFunc (GETs of MaxOIDs
// variables), turns each reading into a sample with
// models.NewTrafficSample against the port's previous reading, and stores
// the round's samples with Store.RecordTraffic. It reports each round's
// wall time, CPU (this process's getrusage, less the agents' own threads),
// SNMP requests and bytes, SQL statements and rows, and the same per
// 1,000 interfaces.
func SNMP(ctx context.Context, o SNMPOptions, stdout io.Writer) error {
	if o.Switches < 1 || o.Ports < 1 || o.Rounds < 1 || o.MaxOIDs < 1 || o.Only32Every < 0 {
		return errors.New("bench snmp: switches, ports, rounds and max-oids must be at least 1, only32 not negative")
	}
	if o.Interval <= 0 {
		o.Interval = models.SwitchIntervalDefault * time.Second
	}
	if o.Workers < 1 {
		o.Workers = min(o.Switches, 32)
	}
	poll := snmpPoll
	tdb, err := newThrowawayDB(ctx, o.DB)
	if err != nil {
		return err
	}
	defer tdb.drop()
	counter := &stmtCounter{}
	store, db, err := openBenchStore(ctx, tdb.url, counter)
	if err != nil {
		return err
	}
	defer store.Close()

	// The agents' clock: the first round is Rounds intervals ago, the last
	// one now, slots aligned to the interval.
	first := time.Now().UTC().Truncate(o.Interval).Add(-time.Duration(o.Rounds-1) * o.Interval)
	var clock atomic.Int64
	clock.Store(first.UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()).UTC() }

	t0 := time.Now()
	sws, err := startSNMPSwitches(o, now)
	if err != nil {
		return err
	}
	defer func() {
		for _, sw := range sws {
			_ = sw.agent.Close()
		}
	}()
	if err := createSNMPRows(ctx, db, o, sws); err != nil {
		return err
	}
	progress("%s: %d switches × %d ports started and stored in %s", tdb.desc, o.Switches, o.Ports, time.Since(t0).Round(time.Millisecond))

	dbSrv := findDBServer(tdb)
	rep := &snmpReport{DB: tdb.kind, Switches: o.Switches, Ports: o.Ports, Interfaces: o.Switches * o.Ports, Rounds: o.Rounds,
		MaxOIDs: o.MaxOIDs, IntervalS: o.Interval.Seconds(), Workers: o.Workers}
	prev := map[int64]*models.CounterReading{}
	for r := range o.Rounds {
		at := first.Add(time.Duration(r) * o.Interval)
		clock.Store(at.UnixNano())
		rr, err := snmpRound(ctx, store, counter, sws, poll, o, at, prev, dbSrv)
		if err != nil {
			return fmt.Errorf("bench snmp: round %d: %w", r+1, err)
		}
		rr.Round = r + 1
		rep.Details = append(rep.Details, rr)
		progress("round %d: %d requests, %d rows, %.2fs (poll %.2fs, store %.2fs), CPU %.3fs (agents %.3fs)",
			rr.Round, rr.Requests, rr.Rows, rr.WallS, rr.PollS, rr.StoreS, rr.CPUS, rr.AgentCPUS)
	}
	for _, sw := range sws {
		st := sw.agent.Stats()
		rep.AgentRequests += st.Requests
		rep.Variables += st.Variables
		rep.TooBig += st.TooBig
		rep.Dropped += st.Dropped
	}
	if err := checkSNMPSamples(ctx, db, sws, rep); err != nil {
		return err
	}
	rep.sum()
	rep.print(stdout)
	return nil
}

// snmpSwitch is one agent and the ports the benchmark polls on it.
type snmpSwitch struct {
	id     int64
	agent  *snmpagent.Agent
	ports  []prober.PollPort
	portID map[int]int64 // by ifIndex
	speed  map[int]int64 // by ifIndex, as discovery stored it
	rate   map[int]int64 // the agent's InBps by ifIndex
}

// startSNMPSwitches starts one agent per switch. Port p of a switch
// carries a rate of its own (a multiple of 8 kb/s, so that rates computed
// back from the counters are exact), below its speed: 10 Gb/s ports with
// 64-bit counters, 100 Mb/s ones for the 32-bit-only.
func startSNMPSwitches(o SNMPOptions, now func() time.Time) ([]*snmpSwitch, error) {
	sws := make([]*snmpSwitch, 0, o.Switches)
	for s := range o.Switches {
		sw := &snmpSwitch{portID: map[int]int64{}, speed: map[int]int64{}, rate: map[int]int64{}}
		ifs := make([]snmpagent.Interface, o.Ports)
		for p := range ifs {
			idx := p + 1
			only32 := o.Only32Every > 0 && idx%o.Only32Every == 0
			ifc := snmpagent.Interface{Index: idx, Name: fmt.Sprintf("xe-0/0/%d", idx), Descr: fmt.Sprintf("Ethernet%d", idx),
				Alias: fmt.Sprintf("bench %d/%d", s+1, idx), SpeedBps: 10_000_000_000,
				InBps: int64(1+(s*o.Ports+p)%997) * 800_000, OutBps: int64(1+(s*o.Ports+p)%89) * 8_000_000}
			if only32 {
				// 100 Mb/s at most: a 32-bit counter wraps at most once in 5 minutes.
				ifc.Only32, ifc.SpeedBps = true, 100_000_000
				ifc.InBps, ifc.OutBps = int64(1+(s+p)%90)*800_000, int64(1+(s+p)%45)*1_600_000
				ifc.InStart = 1<<32 - uint64(ifc.InBps)*10 // wraps in the first interval
			}
			ifs[p] = ifc
			sw.ports = append(sw.ports, prober.PollPort{IfIndex: idx, HC: !only32})
			sw.speed[idx], sw.rate[idx] = ifc.SpeedBps, ifc.InBps
		}
		a, err := snmpagent.Start(snmpagent.Config{MaxOIDs: o.MaxOIDs, SysName: fmt.Sprintf("bench-sw-%04d", s+1),
			SysDescr: "portal bench switch", Interfaces: ifs, Now: now, MeasureCPU: true})
		if err != nil {
			for _, sw := range sws {
				_ = sw.agent.Close()
			}
			return nil, err
		}
		sw.agent = a
		sws = append(sws, sw)
	}
	return sws, nil
}

// createSNMPRows writes the switches and their monitored ports as staff
// would have added them after discovery, in bulk.
func createSNMPRows(ctx context.Context, db *gorm.DB, o SNMPOptions, sws []*snmpSwitch) error {
	now := time.Now().UTC()
	return db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		rows := make([]models.Switch, len(sws))
		for i, sw := range sws {
			rows[i] = models.Switch{Name: fmt.Sprintf("bench-sw-%04d", i+1), Address: sw.agent.Addr(), Site: "bench",
				Version: models.SNMPv2c, IntervalSec: int(o.Interval / time.Second), TimeoutMs: models.SwitchTimeoutDefault,
				MaxOIDs: o.MaxOIDs, Enabled: true, LeaseUntil: neverLeased, CreatedAt: now, UpdatedAt: now}
		}
		if err := tx.CreateInBatches(rows, bulkRows(20)).Error; err != nil {
			return fmt.Errorf("bench snmp: switches: %w", err)
		}
		var ports []models.SwitchPort
		for i, sw := range sws {
			sw.id = rows[i].ID
			for _, p := range sw.ports {
				ports = append(ports, models.SwitchPort{SwitchID: sw.id, IfIndex: p.IfIndex, Ref: fmt.Sprintf("bench%011x", len(ports)+1),
					Name: fmt.Sprintf("xe-0/0/%d", p.IfIndex), Descr: fmt.Sprintf("Ethernet%d", p.IfIndex),
					SpeedBps: sw.speed[p.IfIndex], HC: p.HC, CreatedAt: now, UpdatedAt: now})
			}
		}
		if err := tx.CreateInBatches(ports, bulkRows(11)).Error; err != nil {
			return fmt.Errorf("bench snmp: ports: %w", err)
		}
		k := 0
		for _, sw := range sws {
			for _, p := range sw.ports {
				sw.portID[p.IfIndex] = ports[k].ID
				k++
			}
		}
		return nil
	})
}

// snmpRoundReport is one round's figures.
type snmpRoundReport struct {
	Round         int     `json:"round"`
	WallS         float64 `json:"wall_s"`
	PollS         float64 `json:"poll_s"`
	StoreS        float64 `json:"store_s"`
	CPUS          float64 `json:"cpu_s"`       // this process, less the agents' threads
	PollCPUS      float64 `json:"poll_cpu_s"`  // of which polling (SNMP, NewTrafficSample)
	StoreCPUS     float64 `json:"store_cpu_s"` // and storing (RecordTraffic, the driver, in-process SQLite)
	AgentCPUS     float64 `json:"agent_cpu_s"` // the agents' threads
	DBServerCPUS  float64 `json:"db_server_cpu_s,omitempty"`
	Requests      int64   `json:"requests"` // as the agents counted them
	BytesSent     int64   `json:"bytes_sent"`
	BytesReceived int64   `json:"bytes_received"`
	Readings      int     `json:"readings"`
	Rows          int     `json:"rows"`
	Statements    int64   `json:"statements"`
	PollRequests  int     `json:"poll_requests"` // as the polls reported them
	Failed        int     `json:"failed_polls"`
}

// snmpRound polls every switch once at the agents' time at, and stores
// the samples.
func snmpRound(ctx context.Context, store *models.Store, counter *stmtCounter, sws []*snmpSwitch, poll prober.PollFunc,
	o SNMPOptions, at time.Time, prev map[int64]*models.CounterReading, dbSrv *dbServer) (snmpRoundReport, error) {
	var rr snmpRoundReport
	before := snmpAgentTotals(sws)
	stmts0 := counter.stmts.Load()
	cpu0, db0 := processCPU(), dbSrv.cpu()
	t0 := time.Now()

	results := make([]prober.PollResult, len(sws))
	errs := make([]error, len(sws))
	next := atomic.Int64{}
	var wg sync.WaitGroup
	for range o.Workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(sws) {
					return
				}
				sw := sws[i]
				creds := models.SNMPCredentials{SwitchID: sw.id, Address: sw.agent.Addr(), Version: models.SNMPv2c, Community: "public",
					Timeout: models.SwitchTimeoutDefault * time.Millisecond, MaxOIDs: o.MaxOIDs}
				results[i], errs[i] = poll(ctx, creds, sw.ports)
			}
		})
	}
	wg.Wait()

	samples := make([]models.TrafficSample, 0, len(sws)*o.Ports)
	for i, sw := range sws {
		rr.PollRequests += results[i].Requests
		if errs[i] != nil {
			rr.Failed++
			continue
		}
		for _, p := range sw.ports {
			rd, ok := results[i].Readings[p.IfIndex]
			if !ok {
				continue
			}
			// Stamped with the slot polled: the agents' clock is the
			// bench's, moved on by the interval each round, where the
			// poller's readings carry the real time of the poll.
			rd.At = at
			if rd.SpeedBps == 0 {
				rd.SpeedBps = sw.speed[p.IfIndex]
			}
			id := sw.portID[p.IfIndex]
			samples = append(samples, models.NewTrafficSample(id, prev[id], rd, 3*o.Interval)) // the poller's gap
			prev[id] = &rd
		}
	}
	rr.Readings = len(samples)
	t1, cpu1, mid := time.Now(), processCPU(), snmpAgentTotals(sws)
	for start := 0; start < len(samples); start += snmpBatch {
		n, err := store.RecordTraffic(ctx, samples[start:min(start+snmpBatch, len(samples))])
		if err != nil {
			return rr, err
		}
		rr.Rows += n
	}
	t2, cpu2, after := time.Now(), processCPU(), snmpAgentTotals(sws)
	rr.WallS, rr.PollS, rr.StoreS = secs3(t2.Sub(t0)), secs3(t1.Sub(t0)), secs3(t2.Sub(t1))
	rr.AgentCPUS = secs3(after.cpu - before.cpu)
	rr.CPUS = secs3(cpu2 - cpu0 - (after.cpu - before.cpu))
	rr.PollCPUS = secs3(cpu1 - cpu0 - (mid.cpu - before.cpu))
	rr.StoreCPUS = secs3(cpu2 - cpu1 - (after.cpu - mid.cpu))
	if dbSrv != nil {
		rr.DBServerCPUS = secs3(dbSrv.cpu() - db0)
	}
	rr.Requests = after.Requests - before.Requests
	// The poller's view: what it sent is what the agents received.
	rr.BytesSent, rr.BytesReceived = after.BytesIn-before.BytesIn, after.BytesOut-before.BytesOut
	rr.Statements = counter.stmts.Load() - stmts0
	return rr, nil
}

// snmpTotals are the agents' counts and CPU added up.
type snmpTotals struct {
	snmpagent.Stats
	cpu time.Duration
}

func snmpAgentTotals(sws []*snmpSwitch) snmpTotals {
	var t snmpTotals
	for _, sw := range sws {
		st := sw.agent.Stats()
		t.Requests += st.Requests
		t.BytesIn += st.BytesIn
		t.BytesOut += st.BytesOut
		t.cpu += sw.agent.CPU()
	}
	return t
}

// checkSNMPSamples counts the stored samples, the valid ones, and the
// valid ones whose inbound rate is not the agent's.
func checkSNMPSamples(ctx context.Context, db *gorm.DB, sws []*snmpSwitch, rep *snmpReport) error {
	rate := map[int64]int64{}
	for _, sw := range sws {
		for idx, id := range sw.portID {
			rate[id] = sw.rate[idx]
		}
	}
	rows, err := db.WithContext(ctx).Model(&models.TrafficSample{}).Select("port_id", "valid", "ms", "in_octets").Rows()
	if err != nil {
		return fmt.Errorf("bench snmp: read the samples back: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var s models.TrafficSample
		if err := rows.Scan(&s.PortID, &s.Valid, &s.Ms, &s.InOctets); err != nil {
			return fmt.Errorf("bench snmp: read the samples back: %w", err)
		}
		rep.StoredRows++
		if !s.Valid {
			continue
		}
		rep.ValidSamples++
		if d := s.InBps() - rate[s.PortID]; d < -1 || d > 1 {
			rep.RateMismatches++
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("bench snmp: read the samples back: %w", err)
	}
	return nil
}

// snmpReport is the benchmark's result.
type snmpReport struct {
	DB         string  `json:"db"`
	Switches   int     `json:"switches"`
	Ports      int     `json:"ports"`
	Interfaces int     `json:"interfaces"`
	Rounds     int     `json:"rounds"`
	MaxOIDs    int     `json:"max_oids"`
	IntervalS  float64 `json:"interval_s"`
	Workers    int     `json:"workers"`

	Requests       int64 `json:"requests"`
	PollRequests   int   `json:"poll_requests"`
	AgentRequests  int64 `json:"agent_requests"`
	Variables      int64 `json:"variables"`
	TooBig         int64 `json:"too_big"`
	Dropped        int64 `json:"dropped"`
	Failed         int   `json:"failed_polls"`
	BytesSent      int64 `json:"bytes_sent"`
	BytesReceived  int64 `json:"bytes_received"`
	Rows           int   `json:"rows"`
	StoredRows     int   `json:"stored_rows"`
	ValidSamples   int   `json:"valid_samples"`
	RateMismatches int   `json:"rate_mismatches"`
	Statements     int64 `json:"statements"`

	// Means over the rounds, per 1,000 interfaces.
	CPUPer1000          float64 `json:"cpu_s_per_1000"`
	PollCPUPer1000      float64 `json:"poll_cpu_s_per_1000"`
	StoreCPUPer1000     float64 `json:"store_cpu_s_per_1000"`
	AgentCPUPer1000     float64 `json:"agent_cpu_s_per_1000"`
	DBServerCPUPer1000  float64 `json:"db_server_cpu_s_per_1000,omitempty"`
	RequestsPer1000     float64 `json:"requests_per_1000"`
	BytesSentPer1000    float64 `json:"bytes_sent_per_1000"`
	BytesRecvPer1000    float64 `json:"bytes_received_per_1000"`
	StatementsPer1000   float64 `json:"statements_per_1000"`
	CorePctPer1000      float64 `json:"core_pct_per_1000"` // CPU per round over the interval
	RoundWallS          float64 `json:"round_wall_s"`
	RoundPollS          float64 `json:"round_poll_s"`
	RoundStoreS         float64 `json:"round_store_s"`
	RoundCPUS           float64 `json:"round_cpu_s"`
	RoundCPUS2On        float64 `json:"round_cpu_s_after_first"` // the rounds with deltas (the first has none)
	RoundRequests       float64 `json:"round_requests"`
	RequestsPerSwitch   float64 `json:"requests_per_switch_round"`
	VariablesPerRequest float64 `json:"variables_per_request"`

	Details []snmpRoundReport `json:"round_details"`
}

// sum adds the rounds up.
func (r *snmpReport) sum() {
	var cpu, pollCPU, storeCPU, agentCPU, dbCPU, wall, pollS, storeS, later float64
	for _, d := range r.Details {
		r.Requests += d.Requests
		r.PollRequests += d.PollRequests
		r.Failed += d.Failed
		r.BytesSent += d.BytesSent
		r.BytesReceived += d.BytesReceived
		r.Rows += d.Rows
		r.Statements += d.Statements
		cpu += d.CPUS
		pollCPU += d.PollCPUS
		storeCPU += d.StoreCPUS
		agentCPU += d.AgentCPUS
		dbCPU += d.DBServerCPUS
		wall += d.WallS
		pollS += d.PollS
		storeS += d.StoreS
		if d.Round > 1 {
			later += d.CPUS
		}
	}
	rounds := float64(r.Rounds)
	per1000 := func(x float64) float64 { return roundSig(x / rounds / float64(r.Interfaces) * 1000) }
	r.CPUPer1000, r.AgentCPUPer1000, r.DBServerCPUPer1000 = per1000(cpu), per1000(agentCPU), per1000(dbCPU)
	r.PollCPUPer1000, r.StoreCPUPer1000 = per1000(pollCPU), per1000(storeCPU)
	r.RequestsPer1000 = per1000(float64(r.Requests))
	r.BytesSentPer1000, r.BytesRecvPer1000 = per1000(float64(r.BytesSent)), per1000(float64(r.BytesReceived))
	r.StatementsPer1000 = per1000(float64(r.Statements))
	r.CorePctPer1000 = roundSig(r.CPUPer1000 / r.IntervalS * 100)
	r.RoundWallS, r.RoundPollS, r.RoundStoreS = roundSig(wall/rounds), roundSig(pollS/rounds), roundSig(storeS/rounds)
	r.RoundCPUS = roundSig(cpu / rounds)
	if r.Rounds > 1 {
		r.RoundCPUS2On = roundSig(later / (rounds - 1))
	}
	r.RoundRequests = roundSig(float64(r.Requests) / rounds)
	r.RequestsPerSwitch = roundSig(float64(r.Requests) / rounds / float64(r.Switches))
	if r.Requests > 0 {
		r.VariablesPerRequest = roundSig(float64(r.Variables) / float64(r.Requests))
	}
}

func (r *snmpReport) print(w io.Writer) {
	fmt.Fprintf(w, "portal bench snmp: %d switches × %d ports = %d interfaces, %d rounds %gs apart (agents' clock), at most %d variables a GET, %d switches polled at once, on %s\n\n",
		r.Switches, r.Ports, r.Interfaces, r.Rounds, r.IntervalS, r.MaxOIDs, r.Workers, r.DB)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "round\twall s\tpoll s\tstore s\tCPU s\tpoll CPU s\tstore CPU s\tagents' CPU s\trequests\tbytes sent\tbytes received\trows\tstatements\t")
	for _, d := range r.Details {
		fmt.Fprintf(tw, "%d\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%d\t%d\t%d\t%d\t%d\t\n", d.Round, d.WallS, d.PollS, d.StoreS,
			d.CPUS, d.PollCPUS, d.StoreCPUS, d.AgentCPUS, d.Requests, d.BytesSent, d.BytesReceived, d.Rows, d.Statements)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nper 1,000 interfaces and round: CPU %.4f s (poll %.4f, store %.4f; %.3f%% of a core at one round per %gs; the agents' own %.4f s left out), %.1f requests, %.0f bytes sent, %.0f received, %.1f SQL statements",
		r.CPUPer1000, r.PollCPUPer1000, r.StoreCPUPer1000, r.CorePctPer1000, r.IntervalS, r.AgentCPUPer1000, r.RequestsPer1000,
		r.BytesSentPer1000, r.BytesRecvPer1000, r.StatementsPer1000)
	if r.DBServerCPUPer1000 > 0 {
		fmt.Fprintf(w, "; database server CPU %.4f s", r.DBServerCPUPer1000)
	}
	fmt.Fprintf(w, "\nrequests per switch and round %.1f, %.1f variables each; %d rows stored (%d read back, %d with deltas, %d with a rate other than the agent's); %d tooBig, %d dropped, %d failed polls\n",
		r.RequestsPerSwitch, r.VariablesPerRequest, r.Rows, r.StoredRows, r.ValidSamples, r.RateMismatches, r.TooBig, r.Dropped, r.Failed)
	b, _ := json.Marshal(r)
	fmt.Fprintln(w, string(b))
}

// secs3 is d in seconds to the millisecond.
func secs3(d time.Duration) float64 { return math.Round(d.Seconds()*1000) / 1000 }
