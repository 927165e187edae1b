package notify

import "testing"

func TestRedactEmails(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", ""},
		{"no address here", "no address here"},
		{"leaked credentials for alice@example.com (leakedCredentials)", "leaked credentials for [email] (leakedCredentials)"},
		{"<Alice.B+tag@Example.co.uk>, bob@corp.example.", "<[email]>, [email]."},
		{"user@localhost and @handle and trailing@", "user@localhost and @handle and trailing@"},
		{"josé@exämple.com signed in", "[email] signed in"},
		{"a@b.c@d.e", "[email]@d.e"},
		{"x:carol@example.com;y", "x:[email];y"},
	}
	for _, tt := range tests {
		if got := redactEmails(tt.in); got != tt.want {
			t.Errorf("redactEmails(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func BenchmarkRedactEmails(b *testing.B) {
	s := "entra reports leaked credentials for alice@example.com (leakedCredentials), event entra:0a1b2c3d"
	for b.Loop() {
		redactEmails(s)
	}
}
