package sigma

import (
	"slices"
	"testing"
)

func TestWindash(t *testing.T) {
	t.Parallel()
	got, sk := windash("cmd -a /b c-d")
	if sk != nil {
		t.Fatal(sk)
	}
	if len(got) != 25 || !slices.Contains(got, "cmd /a -b c-d") || !slices.Contains(got, "cmd ―a —b c-d") {
		t.Errorf("windash = %d variants %q", len(got), got[:3])
	}
	if _, sk := windash("-a -b -c -d -e"); sk == nil || sk.Reason != ReasonModifier {
		t.Errorf("too many dashes: skip %v", sk)
	}
}

func TestUnescapeSigma(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, plain string
		wild      bool
	}{
		{`a\*b`, `a*b`, false}, {`a*b`, `a*b`, true}, {`a\\b`, `a\b`, false}, {`a\b`, `a\b`, false}, {`a?`, `a?`, true},
	}
	for _, tc := range tests {
		plain, wild := unescapeSigma(tc.in)
		if plain != tc.plain || wild != tc.wild {
			t.Errorf("unescapeSigma(%q) = %q, %t", tc.in, plain, wild)
		}
		if back, _ := unescapeSigma(escapeSigma(plain)); back != plain {
			t.Errorf("escapeSigma(%q) does not read back", plain)
		}
	}
}

func TestSnake(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Okta-API Token (v2)": "okta_api_token_v2", "__a__b__": "a_b", "Important_AppIds": "important_appids", "ÉTÉ": "t", "": "",
	} {
		if got := snake(in); got != want {
			t.Errorf("snake(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRegexpSample(t *testing.T) {
	t.Parallel()
	for _, re := range []string{`^0oa.*`, `(?i)^DANA\.`, `[a-z]{2,4}@example\.com$`, `a|b`, `\d+-\w`, `^(x)?y$`} {
		if _, ok := regexpSample(re); !ok {
			t.Errorf("no sample for %s", re)
		}
	}
}
