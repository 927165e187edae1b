package identity_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tripline-dev/tripline/internal/identity"
)

func TestFold(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"already folded", "breakglass@example.com", "breakglass@example.com"},
		{"ascii upper case", "BreakGlass@Example.COM", "breakglass@example.com"},
		{"ascii surrounding space", " \t breakglass@example.com\r\n", "breakglass@example.com"},
		{"unicode surrounding space", "\u00a0breakglass@example.com\u3000", "breakglass@example.com"},
		{"empty", "", ""},
		{"only space", " \t\u00a0", ""},
		{"full-width letters", "ＢｒｅａｋＧｌａｓｓ@example.com", "breakglass@example.com"},
		{"full-width at sign", "breakglass＠example.com", "breakglass@example.com"},
		{"kelvin sign", "\u212a.admin@example.com", "k.admin@example.com"},
		// U+0130 has no single-letter folding: full case folding gives
		// "i" followed by U+0307 COMBINING DOT ABOVE, not plain "i".
		{"dotted capital I", "\u0130nfo@example.com", "i\u0307nfo@example.com"},
		{"dotless small i is kept", "\u0131nfo@example.com", "\u0131nfo@example.com"},
		{"sharp s full folding", "straße@example.com", "strasse@example.com"},
		{"capital sharp s", "STRA\u1e9eE@example.com", "strasse@example.com"},
		{"long s", "\u017fvc@example.com", "svc@example.com"},
		{"ligature ff", "\ufb00@example.com", "ff@example.com"},
		{"NFC e acute", "jos\u00e9@example.com", "jos\u00e9@example.com"},
		{"NFD e acute", "jose\u0301@example.com", "jos\u00e9@example.com"},
		{"upper-case E acute", "JOS\u00c9@example.com", "jos\u00e9@example.com"},
		{"trade mark sign", "\u2122@example.com", "tm@example.com"},
		{"space exposed by NFKC is trimmed", "\u00a8x", "\u0308x"},
		// Cherokee folds to capitals; cases.Fold alone swaps them
		// (golang/go#46101), so Fold corrects it.
		{"cherokee small letter", "\uab73@example.com", "\u13a3@example.com"},
		{"cherokee capital letter", "\u13a3@example.com", "\u13a3@example.com"},
		{"cherokee small letter ye", "\u13f8", "\u13f0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := identity.Fold(tt.in); got != tt.want {
				t.Errorf("Fold(%+q) = %+q, want %+q", tt.in, got, tt.want)
			}
		})
	}
}

// TestFoldASCIINoAlloc is not parallel: AllocsPerRun counts the allocations
// of the whole process.
func TestFoldASCIINoAlloc(t *testing.T) {
	for _, in := range []string{"breakglass@example.com", "  breakglass@example.com\n", ""} {
		if n := testing.AllocsPerRun(100, func() { identity.Fold(in) }); n != 0 {
			t.Errorf("Fold(%q) allocates %v times, want 0", in, n)
		}
	}
}

func TestAmbiguous(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"plain ascii", "breakglass@example.com", false},
		{"ascii upper case", "BreakGlass@Example.com", false},
		{"empty", "", false},
		{"kelvin sign", "\u212a.admin@example.com", true},
		{"dotted capital I", "\u0130nfo@example.com", true},
		{"full-width letters", "ＢｒｅａｋＧｌａｓｓ@example.com", true},
		{"full-width at sign", "breakglass＠example.com", true},
		{"ligature ff", "\ufb00@example.com", true},
		{"long s", "\u017fvc@example.com", true},
		{"sharp s", "straße@example.com", true},
		{"NFC lower case e acute", "jos\u00e9@example.com", false},
		{"NFD e acute", "jose\u0301@example.com", true},
		{"upper-case E acute", "JOS\u00c9@example.com", true},
		{"no-break space surrounding", "\u00a0jos\u00e9@example.com\u00a0", false},
		{"no-break space inside", "jos\u00e9\u00a0x@example.com", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := identity.Ambiguous(tt.in); got != tt.want {
				t.Errorf("Ambiguous(%+q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzFold(f *testing.F) {
	for _, s := range []string{
		"", " ", "breakglass@example.com", "BreakGlass@Example.com",
		"ＢｒｅａｋＧｌａｓｓ@example.com", "\u212a", "\u0130", "ß", "\u1e9e", "\ufb00",
		"jose\u0301", "\u00a8", " \u00a8 ", "\u0345", "\u0390", "\u01c5", "\xff\xfe",
		"\u00a0x\u3000", "\u2122", "\u1fd3", "a\u0300\u0315\u0301",
		"0000\uab73", "\u13a3", "\u13f8",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		once := identity.Fold(s)
		if twice := identity.Fold(once); twice != once {
			t.Errorf("Fold not idempotent for %+q: Fold = %+q, Fold(Fold) = %+q", s, once, twice)
		}
		if identity.Ambiguous(once) {
			t.Errorf("Ambiguous(Fold(%+q)) = true for %+q", s, once)
		}
		if isASCII(s) {
			if want := strings.ToLower(strings.TrimSpace(s)); once != want {
				t.Errorf("Fold(%q) = %q, want %q", s, once, want)
			}
			if identity.Ambiguous(s) {
				t.Errorf("Ambiguous(%q) = true for ASCII input", s)
			}
		}
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func BenchmarkFold(b *testing.B) {
	for _, bc := range []struct{ name, in string }{
		{"ascii_folded", "breakglass@example.com"},
		{"ascii_upper", "BreakGlass@Example.com"},
		{"non_ascii_folded", "jos\u00e9@example.com"},
		{"non_ascii_full_width", "ＢｒｅａｋＧｌａｓｓ@example.com"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				identity.Fold(bc.in)
			}
		})
	}
}

// TestFoldIdempotentEveryRune checks every code point of the planes that
// hold cased or compatibility characters (0 to U+1FFFF and the CJK
// compatibility ideographs supplement), alone and between letters, so that a
// golang.org/x/text upgrade that breaks idempotence (as Cherokee once did)
// fails here and not only under fuzzing.
func TestFoldIdempotentEveryRune(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("walks every code point")
	}
	check := func(lo, hi rune) {
		for r := lo; r <= hi; r++ {
			for _, s := range []string{string(r), "A" + string(r) + "\u0301"} {
				if once, twice := identity.Fold(s), identity.Fold(identity.Fold(s)); once != twice {
					t.Errorf("Fold(%+q) = %+q, Fold(Fold) = %+q", s, once, twice)
				}
			}
		}
	}
	check(0, 0x1FFFF)
	check(0x2F800, 0x2FA1F)
}
