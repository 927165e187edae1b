package kafkaio

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
)

// testCA returns a CA certificate file and a server certificate for
// 127.0.0.1 signed by it.
func testCA(t *testing.T) (caFile string, server tls.Certificate) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tripline test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "broker"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return caFile, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestTLSAndSCRAMAgainstABroker connects through TLS (verified against a
// CA file) with SASL SCRAM-SHA-512 to an embedded broker: topics are
// checked and created, a message is written and read back by the group.
func TestTLSAndSCRAMAgainstABroker(t *testing.T) {
	t.Parallel()
	caFile, serverCert := testCA(t)
	const user, password = "tripline", "sasl-secret-pw"
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "signins"),
		kfake.TLS(&tls.Config{Certificates: []tls.Certificate{serverCert}, MinVersion: tls.VersionTLS12}),
		kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-512", user, password),
		kfake.GroupMinSessionTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	cfg := Config{
		Brokers: cluster.ListenAddrs(),
		TLS:     TLS{Enabled: true, CAFile: caFile},
		SASL:    SASL{Mechanism: "scram-sha-512", Username: user, Password: password},
	}
	conn, err := NewConnection(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := conn.EnsureTopics(ctx, TopicPlan{Sources: []string{"signins"}, Owned: []string{"signins.dlq"}, Create: true, Partitions: 1, Replication: 1, MaxMessageBytes: 4 << 20}); err != nil {
		t.Fatal(err)
	}
	w := conn.NewWriter("signins", 0)
	defer w.Close()
	if err := w.WriteMessages(ctx, kafka.Message{Key: []byte("k"), Value: []byte("over tls")}); err != nil {
		t.Fatal(err)
	}
	r := conn.NewReader(ReaderConfig{GroupID: "tls-test", Topics: []string{"signins"}, MaxBytes: 10 << 20, MaxWait: 500 * time.Millisecond,
		SessionTimeout: time.Second, StartFromEarliest: true, Logger: slog.New(slog.DiscardHandler)})
	defer r.Close()
	fetchCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	m, err := r.FetchMessage(fetchCtx)
	if err != nil || string(m.Value) != "over tls" {
		t.Fatalf("fetch over TLS+SCRAM = %q, %v", m.Value, err)
	}

	// A wrong password fails clearly, and the error never shows a password.
	cfg.SASL.Password = "wrong-password-value"
	bad, err := NewConnection(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = bad.EnsureTopics(ctx, TopicPlan{Sources: []string{"signins"}})
	if err == nil {
		t.Fatal("wrong SASL password accepted")
	}
	if strings.Contains(err.Error(), "wrong-password-value") || strings.Contains(err.Error(), password) {
		t.Errorf("error shows a password: %v", err)
	}
}

func TestConnectionSettingErrors(t *testing.T) {
	t.Parallel()
	cfg := Config{Brokers: []string{"127.0.0.1:9092"}}
	cfg.TLS = TLS{Enabled: true, CAFile: filepath.Join(t.TempDir(), "missing.pem")}
	if _, err := NewConnection(cfg); err == nil || !strings.Contains(err.Error(), "ca_file") {
		t.Errorf("missing CA file: %v", err)
	}
	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(notPEM, []byte("not a certificate"), 0o600)
	cfg.TLS.CAFile = notPEM
	if _, err := NewConnection(cfg); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("bad CA file: %v", err)
	}
	cfg.TLS = TLS{}
	for _, mech := range []string{"plain", "scram-sha-256", "scram-sha-512"} {
		cfg.SASL = SASL{Mechanism: mech, Username: "u", Password: "p"}
		c, err := NewConnection(cfg)
		if err != nil || c.Dialer.SASLMechanism == nil || c.Transport.SASL == nil {
			t.Errorf("%s: %v", mech, err)
		}
	}
	cfg.SASL = SASL{Mechanism: "gssapi", Username: "u", Password: "secret-pw"}
	if _, err := NewConnection(cfg); err == nil || !strings.Contains(err.Error(), "unknown mechanism") || strings.Contains(err.Error(), "secret-pw") {
		t.Errorf("unknown mechanism: %v", err)
	}
}
