package models

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Money is kept in integer minor units (fen for CNY, cents for USD): two
// decimal places for every currency the portal accepts.

// Currencies the portal accepts for contracts, with their symbols.
var currencySymbols = map[string]string{"CNY": "¥", "HKD": "HK$", "USD": "US$", "EUR": "€"}

// Currencies lists the accepted currency codes, the default first.
var Currencies = []string{"CNY", "HKD", "USD", "EUR"}

// FormatMoney shows amount minor units of currency: ¥12,345.67.
func FormatMoney(amount int64, currency string) string {
	sign := ""
	if amount < 0 {
		sign, amount = "-", -amount
	}
	sym, ok := currencySymbols[currency]
	if !ok {
		sym = currency + " "
	}
	whole := strconv.FormatInt(amount/100, 10)
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return fmt.Sprintf("%s%s%s.%02d", sign, sym, b.String(), amount%100)
}

// ParseMoney reads an amount typed in a form ("12345.6", "12,345.67",
// "¥800") into minor units. More than two decimals, a negative amount or
// more than 10^13 minor units is refused (ok false): fees are never
// rounded silently.
func ParseMoney(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	for _, sym := range currencySymbols {
		s = strings.TrimPrefix(s, sym)
	}
	s = strings.ReplaceAll(strings.TrimSpace(s), ",", "")
	whole, frac, hasFrac := strings.Cut(s, ".")
	if whole == "" || len(whole) > 11 || len(frac) > 2 || (hasFrac && frac == "") {
		return 0, false
	}
	for _, r := range whole + frac {
		if r < '0' || r > '9' {
			return 0, false
		}
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, false
	}
	for len(frac) < 2 {
		frac += "0"
	}
	f, _ := strconv.ParseInt(frac, 10, 64)
	return w*100 + f, true
}

// divRound is a/b rounded half up (a, b ≥ 0; b > 0): the one rounding of
// money in the ledger.
func divRound(a, b int64) int64 { return (2*a + b) / (2 * b) }

// DayFee is one day's fee of a month (agreement §4): the monthly fee
// divided by the days of that month, rounded half up to the minor unit.
func DayFee(monthlyFee int64, daysInMonth int) int64 {
	return divRound(monthlyFee, int64(daysInMonth))
}

// ProratedFee is the fee of days of a month of daysInMonth days: the
// monthly fee × days ÷ daysInMonth, rounded half up (docs/agreement.md
// §11, a contract starting or ending mid-month).
func ProratedFee(monthlyFee int64, days, daysInMonth int) int64 {
	if days >= daysInMonth {
		return monthlyFee
	}
	return divRound(monthlyFee*int64(days), int64(daysInMonth))
}

// Allowance is the downtime the agreement allows over what the measure
// covers: 0.1 % of it (43.2 minutes in a 30-day month, 44.64 in a 31-day
// one), exact to the nanosecond. Downtime counted above it breaks the
// 99.9 % promise.
func (a Availability) Allowance() time.Duration { return a.Total / allowanceDivisor }

// Met reports whether the measure keeps the 99.9 % promise: counted
// downtime no more than the allowance.
func (a Availability) Met() bool { return a.Counted <= a.Allowance() }
