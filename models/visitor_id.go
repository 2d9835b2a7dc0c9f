package models

import "strings"

// residentWeights are the weights of the first 17 digits of a mainland
// resident identity number (GB 11643-1999); the 18th is the check
// character, residentCheck[sum mod 11].
var residentWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

const residentCheck = "10X98765432"

// CheckResidentID reports whether s is a well-formed mainland resident
// identity number: 17 digits and the right check character (a digit, or
// X, upper or lower case). It does not check the birth date or the area
// code, which the data center cannot verify either.
func CheckResidentID(s string) bool {
	if len(s) != 18 {
		return false
	}
	sum := 0
	for i := 0; i < 17; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return false
		}
		sum += int(c-'0') * residentWeights[i]
	}
	return strings.ToUpper(s[17:]) == string(residentCheck[sum%11])
}

// MaskID shows an identity document number the way every page but
// reception's does. A resident number (15 characters or more) keeps its
// first three (the area) and last four: 110***********1234; a shorter one
// (a passport, a permit) keeps only its last four, and one of eight
// characters or fewer its last two, so that at most half of it shows.
func MaskID(s string) string {
	r := []rune(s)
	switch {
	case len(r) >= 15:
		return string(r[:3]) + strings.Repeat("*", len(r)-7) + string(r[len(r)-4:])
	case len(r) > 8:
		return strings.Repeat("*", len(r)-4) + string(r[len(r)-4:])
	case len(r) > 2:
		return strings.Repeat("*", len(r)-2) + string(r[len(r)-2:])
	}
	return strings.Repeat("*", len(r))
}

// MaskPhone keeps a phone number's first three and last four characters
// (138****5678, as Chinese services print them); a number of eight
// characters or fewer keeps only its last two.
func MaskPhone(s string) string {
	r := []rune(s)
	if len(r) <= 8 {
		return MaskID(s)
	}
	return string(r[:3]) + strings.Repeat("*", len(r)-7) + string(r[len(r)-4:])
}
